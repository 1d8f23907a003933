package stats

import (
	"math"
	"slices"
	"strings"

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

// decide returns the call on a cell whose median is ratio times the first
// column's, with Mann-Whitney U p-value p over n1 boots in the first
// column and n2 in the cell: a regression or an improvement if p < alpha
// and the median changed by more than threshold (a fraction) for the
// worse or the better in unit, CallSame otherwise. tooFew reports that
// n1 and n2 are too few for the test ever to reach p < alpha, in which
// case the call is CallSame whatever p is.
func decide(unit string, ratio, p float64, n1, n2 int, alpha, threshold float64) (call Call, tooFew bool) {
	if minUTestP(n1, n2) >= alpha {
		return CallSame, true
	}
	// The slack keeps a change of exactly the threshold, such as a ratio
	// of 1.02 (1.0200000000000000178 as a float64), uncalled.
	if !(p < alpha) || math.Abs(ratio-1) <= threshold+1e-12 {
		return CallSame, false
	}
	if (ratio > 1) != higherIsBetter(unit) {
		return CallRegression, false
	}
	return CallImprovement, false
}

// CounterUnit reports whether unit is one of the /proc/stat counters the
// guest adds to a benchmark's line (the seed's vmstat columns): context,
// not a measure of cost, so compare shows them without a call.
func CounterUnit(unit string) bool {
	switch unit {
	case "ctxsw/s", "intr/s", "usr%", "sys%", "idl%":
		return true
	}
	return false
}

// higherIsBetter reports whether a higher value is better in the tidied
// unit: true for rates, whose denominator is a unit of time ("B/s",
// "ops/s", "frames/sec"), false for all other units ("sec/op", "B/op",
// "allocs/op", "cycles"), where lower is better.
func higherIsBetter(unit string) bool {
	i := strings.LastIndexByte(unit, '/')
	if i < 0 {
		return false
	}
	switch unit[i+1:] {
	case "s", "sec", "second", "ms", "us", "µs", "ns":
		return true
	}
	return false
}

// minUTestP returns the smallest two-sided p-value a Mann-Whitney U test
// of samples of n1 and n2 values can give, 2/C(n1+n2, n1): the samples do
// not overlap at all and have no ties (ties only raise it).
func minUTestP(n1, n2 int) float64 {
	if n1 == 0 || n2 == 0 {
		return 1
	}
	c := 1.0
	for i := 1; i <= n1; i++ {
		c *= float64(n2+i) / float64(i)
	}
	return min(2/c, 1)
}

// needPerSide returns the fewest boots a side with which a Mann-Whitney U
// test can reach p < alpha: 4 for alpha 0.05.
func needPerSide(alpha float64) int {
	n := 1
	for minUTestP(n, n) >= alpha {
		n++
	}
	return n
}
