package stats

import (
	"kharness/results/stream"
	"math"
	"slices"
)

// DefaultExactThreshold is the smallest change of an exact count that
// compare calls, as a fraction: 0.1%, a third of an instruction of the
// null syscall's ~325.
const DefaultExactThreshold = 0.001

// DecideExact is decide for an exact unit (see ExactUnit), whose boots
// agree to a fraction of an instruction unless something in the guest
// moved: a rank test over a handful of identical numbers says nothing, and
// the boots' own spread says everything. A cell is called when both sides
// have at least 2 boots (one boot shows no spread), their ranges do not
// overlap, the gap between them is wider than the wider of the two
// ranges, and the medians differ by more than threshold (a fraction).
// Fewer instructions are better. tooFew reports fewer than 2 boots on a
// side, when the call is CallSame.
func DecideExact(base, s []float64, threshold float64) (call Call, tooFew bool) {
	if len(base) < 2 || len(s) < 2 {
		return CallSame, true
	}
	lo1, hi1 := slices.Min(base), slices.Max(base)
	lo2, hi2 := slices.Min(s), slices.Max(s)
	spread := max(hi1-lo1, hi2-lo2)
	var gap float64
	switch {
	case lo2 > hi1:
		gap = lo2 - hi1
	case lo1 > hi2:
		gap = lo1 - hi2
	default:
		return CallSame, false
	}
	m1, m2 := Median(slices.Clone(base)), Median(slices.Clone(s))
	if gap <= spread || m1 <= 0 || math.Abs(m2/m1-1) <= threshold+1e-12 {
		return CallSame, false
	}
	if m2 > m1 {
		return CallRegression, false
	}
	return CallImprovement, false
}

// exactFirst orders keys so that each benchmark's exact units come before
// its other units, benchmarks staying in their order: under TCG the table
// leads with the numbers no host load moves.
func exactFirst(keys []Key) []Key {
	var names []string
	by := map[string][]Key{}
	for _, k := range keys {
		if _, ok := by[k.Name]; !ok {
			names = append(names, k.Name)
		}
		by[k.Name] = append(by[k.Name], k)
	}
	out := make([]Key, 0, len(keys))
	for _, n := range names {
		ks := by[n]
		slices.SortStableFunc(ks, func(a, b Key) int {
			ea, eb := stream.ExactUnit(a.Unit), stream.ExactUnit(b.Unit)
			switch {
			case ea && !eb:
				return -1
			case eb && !ea:
				return 1
			}
			return 0
		})
		out = append(out, ks...)
	}
	return out
}
