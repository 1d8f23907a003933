package stats

import (
	"fmt"
	"kharness/results/store"
	"kharness/results/stream"
	"math"
	"slices"
	"strconv"

	"golang.org/x/perf/benchmath"
)

// compare fills c's ratio, p-value and call against the first column's
// sample base, whose median is center.
func (t *Table) compare(c *Cell, unit string, base, s *benchmath.Sample, center float64) {
	c.Compared = true
	if stream.ExactUnit(unit) {
		t.Exact = true
		c.Ratio, c.P, c.Delta = c.Center/center, math.NaN(), c.Center-center
		var tooFew bool
		c.Call, tooFew = DecideExact(base.Values, s.Values, t.ExactThreshold)
		if tooFew {
			c.PNotes = t.note("exact counts: too few boots to call (need >= 2 a side, so that each side shows its spread)")
		}
		return
	}
	res := benchmath.AssumeNothing.Compare(base, s)
	// The two-sided p doubles the smaller tail, which for tied samples
	// (1 boot against 2, usr% of 0 and 16.67) exceeds 1: a p-value is
	// a probability.
	c.Ratio, c.P = c.Center/center, min(res.P, 1)
	if CounterUnit(unit) {
		// A kernel that does the same work in less time shows more
		// context switches a second: neither better nor worse.
		c.PNotes = t.note("counters around a benchmark (ctxsw/s, intr/s, usr%, sys%, idl%) are shown, not called: a rate of events is not better or worse by itself")
		return
	}
	var tooFew bool
	c.Call, tooFew = decide(unit, c.Ratio, c.P, len(base.Values), len(s.Values), t.Alpha, t.Threshold)
	if tooFew {
		// This note says what benchmath's "need >= N samples" warning
		// would, and also holds when p happens to be below alpha.
		c.PNotes = t.note(fmt.Sprintf("too few boots to call (need >= %d a side): a Mann-Whitney U test of so few boots cannot reach p < %s",
			needPerSide(t.Alpha), strconv.FormatFloat(t.Alpha, 'g', -1, 64)))
		return
	}
	c.PNotes = t.note(errorTexts(res.Warnings)...)
}

// summarise fills a cell from cd's boots for benchmark k, and returns the
// sample of per-boot medians, nil if there is none.
func (t *Table) summarise(cd *cellData, k Key) (Cell, *benchmath.Sample) {
	var c Cell
	if cd == nil {
		return c, nil
	}
	c.OKBoots, c.Failed = cd.ok, len(cd.failed)
	if common := commonFailure(cd.failed); common != nil {
		c.Status, c.Reason = common.Status, store.FailReason(common)
		if c.OKBoots == 0 {
			c.FailNotes = t.note(stream.Printable(c.Reason, 200))
		}
	}
	vals := cd.perBoot[k]
	if len(vals) == 0 {
		return c, nil
	}
	s := benchmath.NewSample(slices.Clone(vals), &benchmath.Thresholds{CompareAlpha: t.Alpha})
	sum := benchmath.AssumeNothing.Summary(s, t.Confidence)
	c.Boots, c.Center, c.Lo, c.Hi = len(vals), sum.Center, sum.Lo, sum.Hi
	c.Spread = relSpread(vals)
	exact := stream.ExactUnit(k.Unit)
	if exact {
		// The exact call rests on the range over boots, and one boot
		// whose count differs is news, not noise to be left out of a CI
		// or a MAD: ± and the spread are the farthest boot's distance
		// from the median, the same number in text and JSON.
		c.Lo, c.Hi = slices.Min(vals), slices.Max(vals)
		c.Spread = exactSpread(c.Center, c.Lo, c.Hi, len(vals))
	}
	if math.IsInf(sum.Lo, 0) || math.IsInf(sum.Hi, 0) {
		// Too few boots for a distribution-free CI at this level: show the
		// range over boots, and say how often a range of n boots covers the
		// true median (1 - 2·0.5^n), rather than an uninformative ∞.
		c.Lo, c.Hi = slices.Min(vals), slices.Max(vals)
		cover := 100 * (1 - 2*math.Pow(0.5, float64(len(vals))))
		c.CINotes = t.note(fmt.Sprintf("%d boots: too few for a %s%% CI; ± is the range over boots (covers the median with %.1f%% probability)",
			len(vals), strconv.FormatFloat(t.Confidence*100, 'g', 4, 64), cover))
		return c, s
	}
	if exact {
		c.CINotes = t.note("exact counts: ± is the range over boots (how far the farthest boot lies from the median), on which the exact call rests")
		return c, s
	}
	c.CINotes = t.note(errorTexts(append(s.Warnings, sum.Warnings...))...)
	return c, s
}

// exactSpread is an exact count's spread over n boots whose median is
// center and range lo..hi: how far the farthest boot lies from the
// median, as a fraction of it, as the text's "±" shows it; NaN for one
// boot, which shows no spread, or a center of 0.
func exactSpread(center, lo, hi float64, n int) float64 {
	if n < 2 || center == 0 {
		return math.NaN()
	}
	return max(hi/center-1, 1-lo/center)
}
