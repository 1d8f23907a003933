package stats

import (
	"math"
	"slices"

	"kharness/results/stream"

	"golang.org/x/perf/benchmath"
)

// UTest is the two-sided Mann-Whitney U p-value of two samples of
// per-boot values, at most 1; 1 when either has fewer than two values.
// compare, bisect and bisect-run all test with it.
func UTest(a, b []float64) float64 {
	if len(a) < 2 || len(b) < 2 {
		return 1
	}
	sa := benchmath.NewSample(slices.Clone(a), &benchmath.DefaultThresholds)
	sb := benchmath.NewSample(slices.Clone(b), &benchmath.DefaultThresholds)
	return min(benchmath.AssumeNothing.Compare(sa, sb).P, 1)
}

// CallSamples calls the per-boot values s against base, as compare calls a
// cell against its row's first column: the ratio of the medians, the
// Mann-Whitney U p-value (NaN for an exact unit, which DecideExact calls
// by the boots' spread), and the call at alpha and threshold. tooFew says
// that so few boots could never be called, whatever they read.
func CallSamples(unit string, base, s []float64, alpha, threshold float64) (call Call, ratio, p float64, tooFew bool) {
	ratio = Median(s) / Median(base)
	if stream.ExactUnit(unit) {
		call, tooFew = DecideExact(base, s, threshold)
		return call, ratio, math.NaN(), tooFew
	}
	p = UTest(base, s)
	call, tooFew = decide(unit, ratio, p, len(base), len(s), alpha, threshold)
	return call, ratio, p, tooFew
}

// NeedPerSide is the fewest boots a side with which a Mann-Whitney U test
// can reach p < alpha.
func NeedPerSide(alpha float64) int { return needPerSide(alpha) }
