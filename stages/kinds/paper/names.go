package paper

import "strings"

// family is the pattern of a family of entry names: each {} is filled, in
// order, by of. The families of the sample-complexity section (E5-E7) are
// declared here, once, so that every name the template uses can be found
// by grepping for its pattern: a dimension's entries carry its rank in
// ascending d as letters (A: the smallest), a learner's its rank in
// learnerOrder, a row of a table its row number, a two-layer network its
// activation's word.
type family string

// of fills the family's placeholders with parts.
func (f family) of(parts ...string) string {
	s := string(f)
	for _, p := range parts {
		s = strings.Replace(s, "{}", p, 1)
	}
	return s
}

const (
	// A row of the claims table (claimRow), under the prefix {} it is
	// named by: JointErrEOne, BfcEOne, ClaimRowA, ESixFitBGap, ...
	famRowValue   family = "{}Value" // the statistic
	famRowLo      family = "{}Lo"    // its interval
	famRowHi      family = "{}Hi"
	famRowThr     family = "{}Thr"     // the threshold
	famRowN       family = "{}N"       // the seeds
	famRowVerdict family = "{}Verdict" // the verdict
	famRowStat    family = "{}Stat"    // the statistic's name
	famRowExp     family = "{}Exp"     // the experiment
	famRowClaim   family = "{}Claim"   // the claim's number
	famRowSample  family = "{}Sample"  // exploratory or confirmatory seeds
	famRowNeeded  family = "{}Needed"  // the seeds it would need (docs/science.md#seed-counts)
	// whether some number of seeds would decide it (Needed is not -1)
	famRowDecidable family = "{}Decidable"
	// Every row of the claims table {r} in order, and each claim's {One..Five} overall row.
	famClaimRow        family = "ClaimRow{}"
	famClaimRowPrimary family = "ClaimRow{}Primary" // whether the row is primary
	famClaimVerdict    family = "Claim{}Verdict"    // the claim's overall verdict
	famClaimExps       family = "Claim{}Exps"       // the experiments it rests on
	famClaimNeeded     family = "Claim{}Needed"     // the seeds its exploratory primary rows need (the most)
	famClaimDecidable  family = "Claim{}Decidable"  // whether some number of seeds would do
	// The claim's overall verdict on the confirmatory seeds, and their number.
	famClaimConfirmVerdict family = "Claim{}ConfirmVerdict"
	famClaimConfirmN       family = "Claim{}ConfirmN"
	// whether the exploratory rows need more seeds than the confirmatory ones had
	famClaimShort family = "Claim{}Short"

	// E0: per depth {Shallow|Deep} and information gap {g} (ascending).
	famGapRow      family = "EZero{}{}"      // list prefix of the gap
	famGapRowGap   family = "EZero{}{}Gap"   // the gap gamma
	famGapRowTop   family = "EZero{}{}Top"   // median share of Var(y) of the top layer's term
	famGapRowBelow family = "EZero{}{}Below" // median share of the term of the layer below
	famGapRowSeeds family = "EZero{}{}Seeds" // the targets (seeds) at that gap

	// A schedule's statistics (scheduleStats), under the prefix {} of the
	// schedule's group: EOneJoint, EThreeXA, EFourGAJoint, ...
	famStatsErr       family = "{}Err"       // median final test error
	famStatsEps       family = "{}Eps"       // median final eps_2
	famStatsEpsSwitch family = "{}EpsSwitch" // median eps_2 at the switch
	famStatsEpsLayer  family = "{}Eps{}"     // median final eps_l of layer {Three|Four|...}
	famStatsRuns      family = "{}Runs"      // the runs

	// E3: per depth of the correction {x} (A: x = 0), E4 per gap {g}.
	famEThreeX     family = "EThreeX{}"         // list prefix (and schedule-statistics prefix) of x
	famEThreeXX    family = "EThreeX{}X"        // the x of its bfc-x run
	famEFourG      family = "EFourG{}"          // list prefix of gap {g}
	famEFourGGap   family = "EFourG{}Gap"       // the gap gamma
	famEFourGJoint family = "EFourG{}Joint"     // schedule-statistics prefix of joint at it
	famEFourGLayer family = "EFourG{}Layerwise" // of layerwise
	famEFourGRatio family = "EFourG{}Ratio"     // claim 3's row of the layerwise/joint ratio at it (claimRow's suffixes)

	// E5: per dimension {d} and learner {l}.
	famDim             family = "EFiveD{}"                         // list prefix of dimension {d}
	famDimD            family = "EFiveD{}D"                        // the dimension d
	famDimMonomials    family = "EFiveD{}Monomials"                // C(d+2^L, 2^L)
	famLearner         family = "EFiveLearner{}"                   // list prefix of learner {l}
	famLearnerDims     family = "EFiveLearner{}Dims"               // list of the dimensions learner {l} ran at
	famLearnerMethod   family = "EFiveLearner{}Method"             // the learner's method
	famLearnerNMin     family = "EFiveLearner{}NMin"               // the smallest n of its curves
	famLearnerNMax     family = "EFiveLearner{}NMax"               // the largest n of its curves
	famDimAtN          family = "EFiveD{}AtN"                      // the deep learner's largest n at dimension {d}
	famDimAt           family = "EFiveD{}AtEFiveLearner{}"         // learner {l}'s median error there
	famDimOver         family = "EFiveD{}OverEFiveLearner{}"       // that over the deep learner's
	famDimLastN        family = "EFiveD{}LastNEFiveLearner{}"      // learner {l}'s own largest n, beyond the deep learner's
	famDimLast         family = "EFiveD{}LastEFiveLearner{}"       // its median error there
	famDimCommonN      family = "EFiveD{}CommonN"                  // the smallest n shared by the deep learner and the kernel
	famDimDeepLeadsN   family = "EFiveD{}DeepLeadsN"               // from where the deep learner stays below the kernel
	famDimPolyLeadsN   family = "EFiveD{}PolyLeadsN"               // from where the kernel stays below the deep learner
	famSmallRow        family = "EFiveSmall{}"                     // list prefix of row {r} of the small-d table
	famSmallRowD       family = "EFiveSmall{}D"                    // its d
	famSmallRowMono    family = "EFiveSmall{}Monomials"            // its number of monomials
	famSmallRowN       family = "EFiveSmall{}N"                    // its n
	famSmallRowLearner family = "EFiveSmall{}{}"                   // learner {Poly|Mono|Deep}'s median error there
	famSmallBelowN     family = "EFiveD{}SmallBelowN"              // the largest n below the number of monomials
	famSmallBelowPoly  family = "EFiveD{}SmallBelowPoly"           // the kernel's median there
	famSmallBelowDeep  family = "EFiveD{}SmallBelowDeep"           // the deep learner's
	famSmallLastN      family = "EFiveD{}SmallLastN"               // the largest n of the monomial grid
	famSmallLastDeep   family = "EFiveD{}SmallLastDeep"            // the deep learner's median there
	famSmallLast       family = "EFiveD{}SmallLast{}"              // learner {Poly|Mono}'s median there
	famSmallDeepOver   family = "EFiveD{}SmallDeepOver{}"          // the deep learner's over it
	famSmallAboveN     family = "EFiveD{}SmallAboveN"              // the first n at or above the number of monomials
	famSmallFall       family = "EFiveD{}Small{}Fall"              // the factor by which learner {Poly|Mono|Deep}'s median falls from there
	famDimStarStatus   family = "EFiveD{}StarEFiveLearner{}Status" // N* at the smallest threshold: interpolated, below_grid, not_reached
	famDimStarNStar    family = "EFiveD{}StarEFiveLearner{}NStar"
	famDimStarBound    family = "EFiveD{}StarEFiveLearner{}Bound"
	famDimStarLo       family = "EFiveD{}StarEFiveLearner{}Lo" // the bootstrap interval's ends inside the grid
	famDimStarHi       family = "EFiveD{}StarEFiveLearner{}Hi"

	// E5-spectrum: per dimension {d} (A: the smallest) of the gathered spectrum points.
	// E9: per fit {f} of the nstarfit point (list ENineFit), and per depth {l} (list ENineL).
	famNineFit           family = "ENineFit{}"
	famNineFitMethod     family = "ENineFit{}Method"     // the learner
	famNineFitThreshold  family = "ENineFit{}Threshold"  // the threshold's name: primary(f=...) or tau=...
	famNineFitDims       family = "ENineFit{}Dims"       // the dimensions fitted
	famNineFitPrimary    family = "ENineFit{}Primary"    // at the primary threshold
	famNineFitNoSlope    family = "ENineFit{}NoSlope"    // the fit has no slope (fewer than two d with a bracket)
	famNineFitCol        family = "ENineFit{}{}"         // its columns: L, Obs, Left, Right, Seeds, Slope, Lo, Hi, MonoSlope
	famNineFitGap        family = "ENineFit{}Gap"        // claim 4's row comparing it with the deep learner
	famNineFitGapPrimary family = "ENineFit{}GapPrimary" // that row's primary flag (text)
	famNineL             family = "ENineL{}"
	famNineLL            family = "ENineL{}L"         // the depth
	famNineLThreshold    family = "ENineL{}Threshold" // the primary threshold's name
	famNineLShareMin     family = "ENineL{}ShareMin"  // smallest median share above degree 2^(L-1) over d
	famNineLShareMax     family = "ENineL{}ShareMax"  // largest
	famNineLDMin         family = "ENineL{}DMin"      // smallest d
	famNineLDMax         family = "ENineL{}DMax"      // largest d
	famNineLGap          family = "ENineL{}Gap"       // claim 4's primary row at this depth (the polynomial kernel minus deep)
	famSpecD             family = "ESpecD{}"          // list prefix of dimension {d}
	famSpecDD            family = "ESpecD{}D"         // the dimension d
	famSpecDSeeds        family = "ESpecD{}Seeds"     // its targets (seeds)
	famSpecDAboveMin     family = "ESpecD{}AboveMin"  // smallest share of Var(y) above degree 2^(L-1) over its seeds
	famSpecDAboveMax     family = "ESpecD{}AboveMax"  // largest
	famSpecDTopMin       family = "ESpecD{}TopMin"    // smallest share of degree 2^L
	famSpecDTopMax       family = "ESpecD{}TopMax"    // largest

	// E6: per threshold {t} and fit {f} (in threshold, then learner order).
	famTau          family = "ESixTau{}"           // list prefix of threshold {t}
	famTauTau       family = "ESixTau{}Tau"        // its value
	famTauFits      family = "ESixTau{}Fit"        // list of its fits
	famFit          family = "ESixFit{}"           // list prefix of fit {f}
	famFitMethod    family = "ESixFit{}Method"     // its learner
	famFitDims      family = "ESixFit{}Dims"       // the dimensions fitted
	famFitCol       family = "ESixFit{}{}"         // a column of the fits table: Tau, Points, Slope, LoBoot, ...
	famFitBelow     family = "ESixFit{}Below"      // its dimensions with N* below the grid
	famFitBeyond    family = "ESixFit{}Beyond"     // and beyond it
	famFitBelowN    family = "ESixFit{}BelowN"     // the largest grid start below which N* lies
	famFitBeyondN   family = "ESixFit{}BeyondN"    // the smallest grid end beyond which N* lies
	famFitGap       family = "ESixFit{}Gap"        // claim 4's exponent-gap row of the fit (claimRow's suffixes)
	famFitGapPrimar family = "ESixFit{}GapPrimary" // whether that row is primary

	// E7: per width {w} and activation {Relu|Quad}.
	famWidth       family = "ESevenW{}"        // list prefix of width {w}
	famWidthWidth  family = "ESevenW{}Width"   // the width m
	famWidthErr    family = "ESevenW{}{}Err"   // the median test error of activation {a} at it
	famWidthTrain  family = "ESevenW{}{}Train" // its median training error
	famWidthSeeds  family = "ESevenW{}{}Seeds" // its number of seeds
	famNetOverDeep family = "ESeven{}OverDeep" // at the largest width: median over seeds of its error over the deep learner's
	famNetBestMin  family = "ESeven{}BestMin"  // the earliest early-stopping step kept
	famNetBestMax  family = "ESeven{}BestMax"  // the latest

	// E8: per depth {L} (ascending) and schedule {LowerOnly|Layerwise|Joint|EndToEnd};
	// bfc-x per depth of the correction {x} (A: x = 1).
	famEEightL                family = "EEightL{}"                // list prefix of the depth
	famEEightLL               family = "EEightL{}L"               // the number of blocks
	famEEightLAcc             family = "EEightL{}Acc{}"           // median final test accuracy of a schedule
	famEEightLSeeds           family = "EEightL{}Seeds{}"         // its seeds
	famEEightLLowerMinusJoint family = "EEightL{}LowerMinusJoint" // median over seeds of lower-only's accuracy minus joint's
	famEEightLGain            family = "EEightL{}Gain"            // claim 3's row of joint's gain over layerwise (claimRow)
	famEEightX                family = "EEightX{}"                // list prefix of x
	famEEightXX               family = "EEightX{}X"               // the x
	famEEightXAcc             family = "EEightX{}Acc"             // median accuracy of bfc-x
	famEEightXLinShare        family = "EEightX{}LinShare"        // share of the layerwise-to-joint gap it recovers
	famEEightXDrift           family = "EEightX{}Drift"           // median drift of the first layer
	famEEightXLogShare        family = "EEightX{}LogShare"        // claim 5's row on the log error (claimRow)

	// The published accuracies, per row {r}.
	famPub              family = "Pub{}"
	famPubClassifier    family = "Pub{}Classifier"
	famPubPreprocessing family = "Pub{}Preprocessing"
	famPubAcc           family = "Pub{}Acc"

	// A hand-written record file (search, timings): row {r} of the table
	// named by the prefix {} (Search, Time), and its column {c} by the name
	// the kind gives it (Param, Value, Wall, ...).
	famFileRow  family = "{}{}"
	famFileCell family = "{}{}{}"
)
