package paper

import (
	"math"

	"github.com/bfc-repro/bfc/stages/kinds/scaling"
	"github.com/bfc-repro/bfc/stages/kinds/sweep"
)

// The facts the report's text chooses its words by, decided here from the
// entries so that the template compares nothing itself. Each is named once:
//
//	EFourJointAllSmall       joint's median test error is below the claims' small_error at every gamma of E4
//	EFourLayerwiseErrGrows   layerwise ends worse at the largest gamma of E4 than at the smallest
//	EFourLayerwiseEpsGrows   and so does its eps_2
//	ESixKernelBelowMonomials the polynomial kernel has a fitted exponent at some threshold, and each is
//	                         below the slope of the monomial count over the same dimensions
//	EFiveKernelBeatsDeep     at every small d the polynomial kernel's median is below the deep learner's at
//	                         the largest n
//	EFiveFixedFeaturesWin    moreover some n reaches the number of monomials at every small d, and from there
//	                         the kernel's error falls faster than the deep learner's
//	EFiveDeepBest            at every larger d the deep learner's median at its largest n is below every
//	                         other learner's at the same n
//
//	TargetNoiseOff, TargetLabelClipOff, LearnerLRFinalOff, LearnerAlphaPowerOff
//	                         the parameter is zero (switched off)
//	LearnerClipsOff          neither feature_clip nor residual_clip is used
//	EOneControlEpsNotLower   the lower-only control's final eps_2 is above its value at the switch
//	EFiveSeedsUniform        every E5 point has the same number of seeds
//	EFiveMonomialsBeyondGrid the number of monomials at the smallest larger d exceeds the largest n
//	EThreeShareLinAbove      bfc-1's share of the improvement (linear scale) exceeds recover_frac
//	ESevenReluBestUniform    every two-layer ReLU net kept the same early-stopping step
//	ESevenReluBestAtEnd      the latest kept step is the last step
//	EEightControlBelowGain   the largest |lower-only - joint| accuracy difference is below the smallest gain of joint
//
//	EFiveDeepNStarRises      where the deep learner's N* is interpolated at the larger d, it grows with d
//
// and facts of rows, named by the row's list prefix and a suffix:
//
//	fits (ESixFit):      NoSlope, NoBoot (no bootstrap interval), NoGap (claim 4's row has no value),
//	                     GapStraddles (that row's interval contains the margin), TWider (the t interval
//	                     contains the bootstrap one), NoPoints, NoBeyond, NoBelow (no dimension fitted,
//	                     beyond the grid, below it)
//	dimensions (EFiveD): DeepLeadsThroughout (the deep learner is below the kernel at every common n),
//	                     SmallBelowDeepBetter (below the monomial count the deep learner is the better),
//	                     Last<learner>BelowTau (the learner's median at its largest n is below the
//	                     smallest threshold)
//	widths (ESevenW):    QuadTrainBelowRelu, ReluTrainBelowErr
//
// A fact whose entries are absent is not recorded, so that the template
// fails on it as it fails on a missing entry.
func (bd *builder) facts() {
	b := bd.b
	for _, f := range []struct{ fact, entry string }{{"TargetNoiseOff", "TargetNoise"}, {"TargetLabelClipOff", "TargetLabelClip"},
		{"LearnerLRFinalOff", "LearnerLRFinal"}, {"LearnerAlphaPowerOff", "LearnerAlphaPower"}} {
		if has(b, f.entry) {
			b.Fact(f.fact, bd.valueOf(f.entry) == 0)
		}
	}
	if has(b, "LearnerFeatureClip") && has(b, "LearnerResidualClip") {
		b.Fact("LearnerClipsOff", bd.valueOf("LearnerFeatureClip") == 0 && bd.valueOf("LearnerResidualClip") == 0)
	}
	for _, c := range []struct {
		fact, a, b string
		rel        func(x, y float64) bool
	}{
		{"EOneControlEpsNotLower", "EOneLowerOnlyEps", "EOneLowerOnlyEpsSwitch", above},
		{"EFiveSeedsUniform", "EFiveSeedsMin", "EFiveSeedsMax", equal},
		{"EThreeShareLinAbove", "ShareLinEThreeValue", "ClaimsRecoverFrac", above},
		{"ESevenReluBestUniform", "ESevenReluBestMin", "ESevenReluBestMax", equal},
		{"ESevenReluBestAtEnd", "ESevenReluBestMax", "ESevenSteps", equal},
		{"EEightControlBelowGain", "EEightLowerJointMaxAbs", "EEightGainMin", below},
	} {
		if has(b, c.a) && has(b, c.b) {
			b.Fact(c.fact, c.rel(bd.valueOf(c.a), bd.valueOf(c.b)))
		}
	}
	if ds := b.lists["EFiveLargeD"]; len(ds) > 0 && has(b, ds[0]+"Monomials") && has(b, "EFiveNMax") {
		b.Fact("EFiveMonomialsBeyondGrid", bd.valueOf(ds[0]+"Monomials") > bd.valueOf("EFiveNMax"))
	}
	if gs := b.lists["EFourG"]; len(gs) > 0 {
		small := true
		for _, g := range gs {
			small = small && bd.valueOf(g+"JointErr") < bd.valueOf("ClaimsSmallError")
		}
		b.Fact("EFourJointAllSmall", small)
		first, last := gs[0], gs[len(gs)-1]
		b.Fact("EFourLayerwiseErrGrows", bd.valueOf(last+"LayerwiseErr") > bd.valueOf(first+"LayerwiseErr"))
		b.Fact("EFourLayerwiseEpsGrows", bd.valueOf(last+"LayerwiseEps") > bd.valueOf(first+"LayerwiseEps"))
	}
	b.Fact("ESixKernelBelowMonomials", bd.kernelBelowMonomials())
	beat, fixed := bd.fixedFeaturesWin()
	b.Fact("EFiveKernelBeatsDeep", beat)
	b.Fact("EFiveFixedFeaturesWin", fixed)
	b.Fact("EFiveDeepBest", bd.deepBest())
	b.Fact("EFiveDeepNStarRises", bd.deepNStarRises())
	bd.rowFacts()
}

// cmp records fact name = rel(a, b) when both entries exist.
func (bd *builder) cmp(name, a string, rel func(x, y float64) bool, b string) {
	if has(bd.b, a) && has(bd.b, b) {
		bd.b.Fact(name, rel(bd.valueOf(a), bd.valueOf(b)))
	}
}

// is records fact name = pred(entry) when the entry exists.
func (bd *builder) is(name, entry string, pred func(float64) bool) {
	if has(bd.b, entry) {
		bd.b.Fact(name, pred(bd.valueOf(entry)))
	}
}

func isNaN(v float64) bool  { return math.IsNaN(v) }
func isZero(v float64) bool { return v == 0 }

// rowFacts records the facts of the rows of the fits, the dimensions and
// the widths (see facts).
func (bd *builder) rowFacts() {
	b := bd.b
	for _, f := range b.lists["ESixFit"] {
		bd.is(f+"NoSlope", f+"Slope", isNaN)
		bd.is(f+"NoBoot", f+"LoBoot", isNaN)
		bd.is(f+"NoGap", f+"GapValue", isNaN)
		if has(b, f+"GapLo") && has(b, f+"GapHi") && has(b, f+"GapThr") {
			thr := bd.valueOf(f + "GapThr")
			b.Fact(f+"GapStraddles", bd.valueOf(f+"GapLo") < thr && bd.valueOf(f+"GapHi") > thr)
		}
		b.Fact(f+"TWider", bd.valueOf(f+"LoT") < bd.valueOf(f+"LoBoot") && bd.valueOf(f+"HiT") > bd.valueOf(f+"HiBoot"))
		bd.is(f+"NoPoints", f+"Points", isZero)
		bd.is(f+"NoBeyond", f+"Beyond", isZero)
		bd.is(f+"NoBelow", f+"Below", isZero)
	}
	taus := b.lists["ESixTau"]
	for _, d := range b.lists["EFiveD"] {
		bd.cmp(d+"DeepLeadsThroughout", d+"DeepLeadsN", equal, d+"CommonN")
		bd.cmp(d+"SmallBelowDeepBetter", d+"SmallBelowDeep", below, d+"SmallBelowPoly")
		if len(taus) > 0 {
			for _, l := range b.lists["EFiveOther"] {
				bd.cmp(d+"Last"+l+"BelowTau", d+"Last"+l, below, taus[0]+"Tau")
			}
		}
	}
	for _, w := range b.lists["ESevenW"] {
		bd.cmp(w+"QuadTrainBelowRelu", w+"QuadTrain", below, w+"ReluTrain")
		bd.cmp(w+"ReluTrainBelowErr", w+"ReluTrain", below, w+"ReluErr")
	}
}

// deepNStarRises: where the deep learner's N* at the smallest threshold is
// interpolated at the larger dimensions, each is above the one before.
func (bd *builder) deepNStarRises() bool {
	learners := bd.b.lists["EFiveLearner"]
	if len(learners) == 0 {
		return true
	}
	rises, prev := true, ""
	for _, d := range bd.b.lists["EFiveLargeD"] {
		c := d + "Star" + learners[0]
		st, ok := bd.b.Get(c + "Status")
		if !ok || st.Text != scaling.Interpolated {
			continue
		}
		if prev != "" && !(bd.valueOf(c+"NStar") > bd.valueOf(prev)) {
			rises = false
		}
		prev = c + "NStar"
	}
	return rises
}

func (bd *builder) kernelBelowMonomials() bool {
	gaps, ok := bd.b.lists["ESixGap"]
	if !ok {
		return false
	}
	low, any := true, false
	for _, f := range gaps {
		if e, ok := bd.b.Get(f + "Method"); !ok || e.Text != sweep.KRRPoly {
			continue
		}
		if s := bd.valueOf(f + "Slope"); !math.IsNaN(s) {
			any = true
			if !(s < bd.valueOf(f+"MonoSlope")) {
				low = false
			}
		}
	}
	return low && any
}

func (bd *builder) fixedFeaturesWin() (beat, fixed bool) {
	ds, ok := bd.b.lists["EFiveSmallD"]
	if !ok {
		return false, false
	}
	beat, fixed = true, true
	for _, d := range ds {
		if has(bd.b, d+"SmallLastPoly") {
			if !(bd.valueOf(d+"SmallLastPoly") < bd.valueOf(d+"SmallLastDeep")) {
				beat = false
			}
		} else {
			beat = false
		}
		if !has(bd.b, d+"SmallAboveN") {
			fixed = false
		}
		if has(bd.b, d+"SmallDeepFall") && has(bd.b, d+"SmallPolyFall") && !(bd.valueOf(d+"SmallDeepFall") < bd.valueOf(d+"SmallPolyFall")) {
			fixed = false
		}
	}
	return beat, fixed && beat
}

func (bd *builder) deepBest() bool {
	large, ok1 := bd.b.lists["EFiveLargeD"]
	others, ok2 := bd.b.lists["EFiveOther"]
	learners := bd.b.lists["EFiveLearner"]
	if !ok1 || !ok2 || len(learners) == 0 {
		return false
	}
	best := true
	for _, d := range large {
		for _, l := range others {
			if has(bd.b, d+"At"+l) && !(bd.valueOf(d+"At"+learners[0]) < bd.valueOf(d+"At"+l)) {
				best = false
			}
		}
	}
	return best
}

func above(x, y float64) bool { return x > y }
func below(x, y float64) bool { return x < y }
func equal(x, y float64) bool { return x == y }
