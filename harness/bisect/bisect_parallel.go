package bisect

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
)

// maxBisectWidth caps the kernels an exact bisection judges at once:
// beyond three, each round saves little (log base width+1) and boots
// kernels it did not need.
const maxBisectWidth = 3

// bisectWidth is the kernels an exact bisection judges at once: asked, or
// the host's cores (at most maxBisectWidth) when asked is 0. A count does
// not depend on the host's load, so its boots may share the cores.
func bisectWidth(asked int) int {
	if asked > 0 {
		return asked
	}
	return min(runtime.NumCPU(), maxBisectWidth)
}

// cuts is up to width kernels strictly between lo and hi, spread evenly:
// the kernels a round of a width-wide search judges.
func cuts(lo, hi, width int) []int {
	var out []int
	for k := 1; k <= width; k++ {
		m := lo + k*(hi-lo)/(width+1)
		if m > lo && m < hi && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// searchWide is search judging up to width kernels of (lo, hi] at once,
// each in its own goroutine: a round moves lo to the last kernel judged
// good before the first judged bad, and hi to that one. A verdict other
// than good or bad before the first bad stops the search as search does;
// verdicts past the first bad are recorded and not used. With width 1 it
// judges the same kernels as search.
func (r *BisectResult) searchWide(lo, hi, width int, judge func(mid int) (BisectStep, error), why func(BisectStep) string) error {
	for hi-lo > 1 {
		mids := cuts(lo, hi, width)
		steps := make([]BisectStep, len(mids))
		errs := make([]error, len(mids))
		var wg sync.WaitGroup
		for j, m := range mids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				steps[j], errs[j] = judge(m)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		r.Steps = append(r.Steps, steps...)
		nlo, nhi := lo, hi
	walk:
		for _, st := range steps {
			switch st.Verdict {
			case "good", "good*":
				nlo = st.Index
			case "bad", "bad*":
				nhi = st.Index
				break walk
			default:
				r.Lo, r.Hi = nlo, nhi
				r.Reason = fmt.Sprintf("%s: the first bad kernel is after %s and at or before %s", why(st), r.Labels[nlo], r.Labels[nhi])
				return nil
			}
		}
		lo, hi = nlo, nhi
	}
	r.Lo, r.Hi, r.FirstBad = lo, hi, hi
	return nil
}

// bothEndpoints boots good and bad at once, n boots each.
func bothEndpoints(ctx context.Context, f SampleFunc, good, bad, n int) (g, b []float64, err error) {
	var eg, eb error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		g, eg = f(ctx, good, n)
	}()
	b, eb = f(ctx, bad, n)
	wg.Wait()
	if eg != nil {
		return nil, nil, eg
	}
	return g, b, eb
}
