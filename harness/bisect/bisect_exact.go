package bisect

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"kharness/results/stats"
)

// exactEndpointBoots is how many boots each endpoint of an exact
// bisection gets: two, so that each shows its spread.
const exactEndpointBoots = 2

// BisectExact is Bisect for an exact count (stream.ExactUnit), where a
// kernel's boots agree to a fraction of an instruction and a rank test has
// nothing to rank. The endpoints get two boots each, and must differ by
// compare's rule for exact counts (stats.DecideExact, at threshold);
// each kernel of the search then gets one boot: it is good when its count
// equals good's (within the endpoints' wider spread, or threshold), bad
// when it equals bad's; where wide spreads make it equal to both, by the
// nearer of the two. A kernel equal to neither gets a second boot; if
// its two boots agree, it is a partial step, starred as in Bisect by the
// endpoint it is nearer, and the search goes on; if they disagree, the
// search stops undecided.
//
// BisectExactWidth judges width kernels at once (see searchWide); f must
// then be safe to call from several goroutines. BisectExact is width 1.
func BisectExact(ctx context.Context, labels []string, good, bad int, f SampleFunc, threshold float64) (*BisectResult, error) {
	return BisectExactWidth(ctx, labels, good, bad, f, threshold, 1)
}

// BisectExactWidth is BisectExact judging width kernels at once, the
// endpoints too.
func BisectExactWidth(ctx context.Context, labels []string, good, bad int, f SampleFunc, threshold float64, width int) (*BisectResult, error) {
	if good < 0 || bad >= len(labels) || good >= bad {
		return nil, fmt.Errorf("bisect: good (%d) must come before bad (%d) in %d kernels", good, bad, len(labels))
	}
	r := &BisectResult{Labels: labels, FirstBad: -1, Lo: good, Hi: bad}
	var g, b []float64
	var err error
	if width > 1 {
		g, b, err = bothEndpoints(ctx, f, good, bad, exactEndpointBoots)
	} else if g, err = f(ctx, good, exactEndpointBoots); err == nil {
		b, err = f(ctx, bad, exactEndpointBoots)
	}
	if err != nil {
		return r, err
	}
	gm, bm := median(g), median(b)
	tol := max(spread(g), spread(b))
	step := func(i int, xs []float64, verdict string) BisectStep {
		m := median(xs)
		return BisectStep{Index: i, Label: labels[i], Boots: len(xs), Median: m, PGood: math.NaN(), PBad: math.NaN(),
			Verdict: verdict, GoodB: len(g), BadB: len(b), GoodM: gm, BadM: bm, RatioToGood: m / gm}
	}
	r.Steps = append(r.Steps, step(good, g, "endpoint"), step(bad, b, "endpoint"))
	if call, _ := stats.DecideExact(g, b, threshold); call == stats.CallSame {
		r.Reason = fmt.Sprintf("the endpoints' counts do not differ (%.2f vs %.2f, spread %.2f)", gm, bm, tol)
		return r, fmt.Errorf("%w: %s %.2f vs %s %.2f", ErrEndpointsSame, labels[good], gm, labels[bad], bm)
	}
	same := func(x, m float64) bool { return math.Abs(x-m) <= tol || math.Abs(x/m-1) <= threshold }
	var mu sync.Mutex
	spreads := map[int]float64{} // of each kernel judged, for why
	judge := func(mid int) (BisectStep, error) {
		for n := 1; ; n++ {
			xs, err := f(ctx, mid, n)
			if err != nil {
				return BisectStep{}, err
			}
			mu.Lock()
			spreads[mid] = spread(xs)
			mu.Unlock()
			x := median(xs)
			// Wide endpoint spreads can make x the same as both: the
			// nearer endpoint decides, and a count halfway between is
			// judged as one equal to neither (a second boot, a star).
			nearBad, nearGood := math.Abs(x-bm) < math.Abs(x-gm), math.Abs(x-gm) < math.Abs(x-bm)
			isGood, isBad := same(x, gm), same(x, bm)
			switch {
			case spread(xs) > tol && !same(slices.Min(xs), slices.Max(xs)):
				return step(mid, xs, "undecided"), nil
			case isGood && (!isBad || nearGood):
				return step(mid, xs, "good"), nil
			case isBad && (!isGood || nearBad):
				return step(mid, xs, "bad"), nil
			case n < exactEndpointBoots:
				continue // equal to neither: a second boot to be sure
			case nearBad:
				return step(mid, xs, "bad*"), nil
			default:
				return step(mid, xs, "good*"), nil
			}
		}
	}
	err = r.searchWide(good, bad, max(width, 1), judge, func(st BisectStep) string {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprintf("%s's boots disagree (spread %.2f, the endpoints' %.2f)", st.Label, spreads[st.Index], tol)
	})
	return r, err
}

// spread is the range of xs.
func spread(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return slices.Max(xs) - slices.Min(xs)
}
