// Package hermite computes, exactly, the moments and the degree spectrum of
// the Backward Feature Correction target networks (docs/science.md#target)
// by expanding them in the multivariate Hermite basis. It replaces Monte
// Carlo estimates that are far off for these targets: a polynomial of
// degree 2^L in Gaussians is heavy-tailed, and its sample moments converge
// slowly.
//
// # The basis
//
// The probabilists' Hermite polynomials He_0 = 1, He_1(z) = z,
// He_{n+1}(z) = z He_n(z) − n He_{n−1}(z) are orthogonal under N(0, 1),
// E[He_m He_n] = n! δ_mn. Their products over coordinates,
// He_β(x) = Π_i He_{β_i}(x_i) for a multi-index β, are orthogonal under
// x ~ N(0, I_d): E[He_β He_β'] = β! δ_ββ' with β! = Π_i β_i!. For
// p = Σ_β c_β He_β therefore
//
//	E p = c_0,   E p² = Σ_β c_β² β!,   Var p = Σ_{β≠0} c_β² β!,
//
// and the parts of p of each total degree q, P_q p = Σ_{|β|=q} c_β He_β,
// are orthogonal. The degree spectrum ‖P_q p‖² = Σ_{|β|=q} c_β² β!
// (q = 1..deg p) splits Var p by degree, and the best approximation of p
// in L2(N(0, I)) by any polynomial of degree <= q0 is the truncation
// Σ_{q<=q0} P_q p, with relative squared error Σ_{q>q0} ‖P_q p‖² / Var p
// (Result.ShareAbove): what a learner restricted to degree q0 reaches with
// unlimited data (docs/science.md#baselines). The spectrum of A + γB is
// ‖P_q A‖² + 2γ⟨P_q A, P_q B⟩ + γ²‖P_q B‖² per degree (InnerByDegree).
//
// # Products
//
// In one variable He_m He_n = Σ_{k=0..min(m,n)} C(m,k) C(n,k) k! He_{m+n−2k}
// (the linearisation formula); multivariate products factor over the
// variables, so two terms whose multi-indices share s variables yield
// Π (min(β_i, β'_i) + 1) terms over the shared ones. Mul and Square apply
// it pair of terms by pair of terms. All coefficients are integers below
// 2^53 for the degrees used, so the expansion is exact up to float64
// rounding in the sums: no sampling, no quadrature, no change of basis.
//
// # Representation
//
// A Space fixes d and the maximum degree D. A multi-index is packed into
// integer words, Bits = bitlen(D+1) bits per exponent, ⌊64/Bits⌋ exponents
// to a word (one word for d <= 16 at D = 8 or d <= 12 at D = 16; up to
// MaxWords words). Adding two keys word-wise adds the multi-indices;
// lowering exponent i by 2k subtracts 2k at its field. A Poly is its terms
// sorted by key (16 bytes a term for one-word keys). A product accumulates
// into an open-addressing hash table (linear probing, load <= 1/2,
// doubling as it fills), whose occupied slots are then radix-sorted into
// a Poly. Variables both factors use are found from per-term bit masks of
// the non-zero exponents, so a pair costs O(words) plus its output.
//
// Every result is a function of the input terms in their sorted order:
// sums are formed in a fixed order, and Analyze works on the rows of a
// layer in parallel but reduces them in row order, so the bits do not
// depend on Options.Threads or GOMAXPROCS.
//
// # The target
//
// Analyze takes a target as plain data (d, k, L, the source sets J_l,
// centring of σ1, α_l and the raw weights) and builds S*_0 = x,
// S*_1 = σ1(x) (He_2/√2 centred, He_2 + 1 not), then layer by layer
// S*_{l,r} = Σ_j W*_{l,j}[r] φ_j, its exact variance and the rescaling to
// unit variance, and φ_l = (S*_l)² for the layers above. With
// U_l = ‖S*_l‖² (so T_l = α_l U_l) every moment of G* follows from the
// per-degree inner products Gram[a][b][q] = ⟨P_q U_a, P_q U_b⟩: Cov(T_a,
// T_b) = α_a α_b Σ_{q>=1} Gram[a][b][q], the spectrum of G* is
// Σ_{a,b} α_a α_b Gram[a][b][q], and for L = 3 (α_2 = 1, α_3 = γ) it is
// a quadratic in γ per degree (GammaQuadratic, GammaForShare), as the
// normalisation does not depend on α.
//
// With Options.AsGiven the rows are taken as they are, for weights
// normalised already (those a target stage stores, normalised by Monte
// Carlo); Result.Labels then gives the exact moments and spectrum of the
// stored labels, the stage's Monte Carlo centring constant included.
//
// The rows S*_L have degree 2^(L−1) and suffice for the normalisation, the
// row means and E[G*]; only the moments involving T_L need U_L, of
// degree 2^L. A product whose bound on the number of terms
// (EstimateProduct: the multi-indices of its degree on at most as many
// variables as the factors' terms use together, even ones only when both
// factors are even) exceeds Space.MaxTerms (DefaultMaxTerms = 5e7) fails
// with a *TooLargeError before allocating anything, and Analyze then
// returns what it has: the whole normalisation and the means, and the
// moments of the layers below L. For these targets the bound is 3-4x the
// true count.
//
// # Cost
//
// BenchmarkAnalyze, k = 3, skip0, centred σ1, one thread, on the
// project's machine (Intel Xeon @ 2.60GHz, 2 cores shared by several
// jobs, so wall times are about twice the CPU times below); peak memory
// is the resident set of the benchmark process (/usr/bin/time), about
// 5 MiB of which is the test binary itself.
//
//	L   d   terms of U_L   CPU time   peak RSS
//	2   8          145     < 0.01 s     5 MiB
//	2  16          545     < 0.01 s     5 MiB
//	2  32        2 113     < 0.01 s     6 MiB
//	2  64        8 321       0.03 s     9 MiB
//	3   4          321     < 0.01 s     5 MiB
//	3   6        1 289     < 0.01 s     5 MiB
//	3   8        3 649       0.01 s     7 MiB
//	3  10        8 361       0.01 s     9 MiB
//	3  12       16 641       0.04 s    12 MiB
//	3  16       50 049       0.08 s    13 MiB
//	3  20      118 721       0.25 s    37 MiB
//	3  32      746 241       2.7 s    219 MiB
//	4   4        3 649       0.03 s     6 MiB
//	4   6       40 081       0.35 s    13 MiB
//	4   8      265 729       6.1 s     85 MiB
//	4  10    1 256 465      37 s      275 MiB
//	4  12    4 673 345     184 s      1.2 GiB
//	4  16    refused (bound 3.8e8 terms); the rest: 0.13 s, 23 MiB
//
// The rows L = 3, d = 32 and L = 4, d = 10, 12 locate the limits. L = 2
// and L = 3 stay cheap
// well past the pipeline's sizes: the rows of S*_3 have O(d²) terms and
// U_3 has O(d⁴); time grows about as d^5 between d = 16 and 32, as the
// table outgrows the caches. L = 4 is where exact stops being affordable:
// the rows of S*_4 have O(d⁴) terms of degree 8, and squaring one visits
// O(d⁸) pairs of terms, each expanding into up to 3⁴ = 81 terms. One
// minute of CPU is passed between d = 10 and d = 12, 4 GiB would be
// reached near d = 14 (extrapolated: 4.5x per step of 2), and at d = 16 the expansion of U_4 is refused before it starts
// (BenchmarkPartial: normalisation, means and the moments of T_2, T_3).
package hermite
