// Package bisect finds the first bad kernel: by boots of Debian's kernels
// (timed, Bisect, or by exact counts, BisectExact) and, as bisect-run, by
// one step of git bisect over a built tree, judged against a reference run.
// It sits on the matrix run (harness) and names the functions that moved
// through attribute.
package bisect

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"kharness/results/stats"
)

// SampleFunc returns the per-boot medians of the benchmark for kernel i,
// after bringing it to at least boots ok boots. Boots already stored are
// reused.
type SampleFunc func(ctx context.Context, i, boots int) ([]float64, error)

// BesideFunc boots kernel i beside both endpoints, alternating, until each
// of the three has at least boots ok boots of this step, and returns the
// per-boot numbers of i, good and bad from those boots only.
type BesideFunc func(ctx context.Context, i, boots int) (xs, g, b []float64, err error)

// BisectParams are the statistics of a bisection.
type BisectParams struct {
	Alpha      float64 // significance level of each test (0.05)
	StartBoots int     // boots per kernel before the first test (5)
	MaxBoots   int     // boots per kernel at most (15)
	// Beside, when set, judges each kernel against endpoints booted
	// beside it (BesideFunc) instead of the endpoints' first boots: a
	// time measured minutes apart differs by the host's drift.
	Beside BesideFunc
}

// BisectStep is one kernel judged, with its evidence.
type BisectStep struct {
	Index        int
	Label        string
	Boots        int
	Median       float64 // of the per-boot medians
	PGood, PBad  float64 // Mann-Whitney U p-values against the endpoints
	Verdict      string  // "good", "bad", "good*" or "bad*" (partial steps), "endpoint" or "undecided"
	GoodB, BadB  int     // endpoint boots at the time
	GoodM, BadM  float64 // endpoint medians at the time
	RatioToGood  float64
	RatioToBadly float64
}

// BisectResult is where the first bad kernel lies.
type BisectResult struct {
	Labels   []string
	FirstBad int // index into Labels; -1 if the search stopped undecided
	Lo, Hi   int // the first bad kernel is in (Lo, Hi]: Lo last known good, Hi first known bad
	Steps    []BisectStep
	Reason   string // why it stopped, when it did not decide
}

// ErrEndpointsSame means the good and bad kernels could not be told apart
// within the boot cap: there is nothing to bisect.
var ErrEndpointsSame = errors.New("good and bad kernels do not differ significantly")

// Bisect finds where a change between good and bad kernels happened. It
// first confirms that the endpoints differ (adding boots up to the cap),
// then binary-searches; each kernel is "good" when it differs
// significantly from bad but not from good and lies nearer good, "bad"
// the mirror, and otherwise gets more boots (and so do the endpoints, to
// keep the tests' power). At the cap, a kernel that still differs
// significantly from both and lies between them is a partial step: the
// change came in more than one step. It is "good*" when it lies nearer
// good, "bad*" when nearer bad, and the search goes on as for good or bad:
// it names the first kernel past half way, the larger part of the change,
// and the starred kernels say where the smaller steps lie. Any other
// kernel left at the cap is "undecided": the search stops and says
// between which kernels the change lies. With N kernels it judges at most
// ⌈log2 N⌉ kernels besides the two endpoints.
func Bisect(ctx context.Context, labels []string, good, bad int, f SampleFunc, p BisectParams) (*BisectResult, error) {
	if p.Alpha == 0 {
		p.Alpha = 0.05
	}
	if p.StartBoots < 4 {
		p.StartBoots = 5 // fewer than 4 a side can never reach p < 0.05
	}
	p.MaxBoots = max(p.MaxBoots, p.StartBoots)
	if good < 0 || bad >= len(labels) || good >= bad {
		return nil, fmt.Errorf("bisect: good (%d) must come before bad (%d) in %d kernels", good, bad, len(labels))
	}
	r := &BisectResult{Labels: labels, FirstBad: -1, Lo: good, Hi: bad}
	n := p.StartBoots
	var g, b []float64
	var err error
	for ; ; n++ {
		if g, err = f(ctx, good, n); err != nil {
			return r, err
		}
		if b, err = f(ctx, bad, n); err != nil {
			return r, err
		}
		pv := stats.UTest(g, b)
		if pv < p.Alpha {
			r.Steps = append(r.Steps, endpointStep(good, labels, g, g, b, pv), endpointStep(bad, labels, b, g, b, pv))
			break
		}
		if n >= p.MaxBoots {
			r.Steps = append(r.Steps, endpointStep(good, labels, g, g, b, pv), endpointStep(bad, labels, b, g, b, pv))
			r.Reason = fmt.Sprintf("the endpoints do not differ significantly after %d boots each (p = %.3f)", n, pv)
			return r, fmt.Errorf("%w: %s vs %s after %d boots each (p = %.3f)", ErrEndpointsSame, labels[good], labels[bad], n, pv)
		}
	}
	err = r.search(good, bad,
		func(mid int) (BisectStep, error) { return judgeKernel(ctx, f, labels, mid, good, bad, n, p) },
		func(st BisectStep) string {
			return fmt.Sprintf("%s undecided after %d boots (p = %.3f against good, %.3f against bad)", st.Label, st.Boots, st.PGood, st.PBad)
		})
	return r, err
}

// search binary-searches (lo, hi] for the first bad kernel, judging each
// kernel it visits with judge and recording its step: good and good* move
// lo up, bad and bad* move hi down. Any other verdict stops the search,
// with why(step) and where the change lies as r's Reason.
func (r *BisectResult) search(lo, hi int, judge func(mid int) (BisectStep, error), why func(BisectStep) string) error {
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		st, err := judge(mid)
		if err != nil {
			return err
		}
		r.Steps = append(r.Steps, st)
		switch st.Verdict {
		case "good", "good*":
			lo = mid
		case "bad", "bad*":
			hi = mid
		default:
			r.Lo, r.Hi = lo, hi
			r.Reason = fmt.Sprintf("%s: the first bad kernel is after %s and at or before %s", why(st), r.Labels[lo], r.Labels[hi])
			return nil
		}
	}
	r.Lo, r.Hi, r.FirstBad = lo, hi, hi
	return nil
}

// judgeKernel tests kernel i against both endpoints, adding boots to all
// three until it is decided or the cap is reached.
func judgeKernel(ctx context.Context, f SampleFunc, labels []string, i, good, bad, n int, p BisectParams) (BisectStep, error) {
	for ; ; n++ {
		xs, g, b, err := threeSamples(ctx, f, p.Beside, i, good, bad, n)
		if err != nil {
			return BisectStep{}, err
		}
		st := BisectStep{Index: i, Label: labels[i], Boots: len(xs), Median: median(xs), PGood: stats.UTest(xs, g), PBad: stats.UTest(xs, b),
			GoodB: len(g), BadB: len(b), GoodM: median(g), BadM: median(b)}
		st.RatioToGood = st.Median / st.GoodM
		nearBad := math.Abs(st.Median-st.BadM) < math.Abs(st.Median-st.GoodM)
		switch {
		case st.PGood < p.Alpha && st.PBad >= p.Alpha && nearBad:
			st.Verdict = "bad"
		case st.PBad < p.Alpha && st.PGood >= p.Alpha && !nearBad:
			st.Verdict = "good"
		case n < p.MaxBoots:
			continue
		case st.PGood < p.Alpha && st.PBad < p.Alpha && between(st.GoodM, st.Median, st.BadM):
			// Only at the cap: a good kernel that by chance differs
			// from good in a few boots would otherwise be taken for a
			// step.
			st.Verdict = "good*"
			if nearBad {
				st.Verdict = "bad*"
			}
		default:
			st.Verdict = "undecided"
		}
		return st, nil
	}
}

// threeSamples is kernel i's numbers and the endpoints' at n boots:
// booted beside i when beside is set, else each from its own boots.
func threeSamples(ctx context.Context, f SampleFunc, beside BesideFunc, i, good, bad, n int) (xs, g, b []float64, err error) {
	if beside != nil {
		return beside(ctx, i, n)
	}
	if xs, err = f(ctx, i, n); err != nil {
		return nil, nil, nil, err
	}
	if g, err = f(ctx, good, n); err != nil {
		return nil, nil, nil, err
	}
	b, err = f(ctx, bad, n)
	return xs, g, b, err
}

// between reports whether m lies strictly between good and bad.
func between(good, m, bad float64) bool {
	return (good < m && m < bad) || (bad < m && m < good)
}

// Partial returns the partial steps ("good*" and "bad*"): kernels between
// good and bad, which show that the change came in more than one step.
func (r *BisectResult) Partial() []BisectStep {
	var ps []BisectStep
	for _, s := range r.Steps {
		if strings.HasSuffix(s.Verdict, "*") {
			ps = append(ps, s)
		}
	}
	return ps
}

func endpointStep(i int, labels []string, xs, g, b []float64, pv float64) BisectStep {
	return BisectStep{Index: i, Label: labels[i], Boots: len(xs), Median: median(xs), Verdict: "endpoint",
		PGood: stats.UTest(xs, g), PBad: stats.UTest(xs, b), GoodB: len(g), BadB: len(b), GoodM: median(g), BadM: median(b),
		RatioToGood: median(xs) / median(g)}
}

// median is stats.Median, the project's one median.
func median(xs []float64) float64 { return stats.Median(xs) }
