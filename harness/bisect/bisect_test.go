package bisect

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// synthetic kernels: per-boot medians around a level that steps up at
// firstBad, with boot-to-boot noise. The search logic is pure statistics;
// the real kernels are bisected by the command (see the README).
func synthetic(levels []float64, noise float64, seed uint64) (SampleFunc, *int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	store := map[int][]float64{}
	boots := 0
	return func(_ context.Context, i, n int) ([]float64, error) {
		for len(store[i]) < n {
			store[i] = append(store[i], levels[i]*(1+noise*(rng.Float64()*2-1)))
			boots++
		}
		return store[i], nil
	}, &boots
}

func stepLevels(n, firstBad int, good, bad float64) []float64 {
	l := make([]float64, n)
	for i := range l {
		l[i] = good
		if i >= firstBad {
			l[i] = bad
		}
	}
	return l
}

func labels(n int) []string {
	l := make([]string, n)
	for i := range l {
		l[i] = fmt.Sprintf("k%02d", i)
	}
	return l
}

func TestBisectFindsStep(t *testing.T) {
	for _, n := range []int{2, 3, 5, 11, 17, 33} {
		for first := 1; first < n; first += max(1, n/5) {
			f, boots := synthetic(stepLevels(n, first, 371, 388), 0.02, uint64(n*100+first))
			r, err := Bisect(context.Background(), labels(n), 0, n-1, f, BisectParams{MaxBoots: 20})
			if err != nil {
				t.Fatalf("n=%d first=%d: %v", n, first, err)
			}
			if r.FirstBad != first {
				t.Errorf("n=%d: first bad %d, want %d (%s)", n, r.FirstBad, first, r.Reason)
			}
			if limit := int(math.Ceil(math.Log2(float64(n)))) + 2; len(r.Steps) > limit {
				t.Errorf("n=%d: %d steps, target at most %d", n, len(r.Steps), limit)
			}
			t.Logf("n=%d first=%d: %d steps, %d boots", n, first, len(r.Steps), *boots)
		}
	}
}

func TestBisectEndpointsSame(t *testing.T) {
	f, _ := synthetic(stepLevels(9, 9, 371, 371), 0.03, 7)
	_, err := Bisect(context.Background(), labels(9), 0, 8, f, BisectParams{MaxBoots: 8})
	if !errors.Is(err, ErrEndpointsSame) {
		t.Fatalf("err = %v, want ErrEndpointsSame", err)
	}
}

// A kernel between good and bad differs from both at the cap: the change
// came in steps. The search goes on by which endpoint the kernel lies
// nearer, names the first kernel past half way, and stars the partial
// kernels it met.
func TestBisectPartialStep(t *testing.T) {
	for _, tc := range []struct {
		levels   []float64
		firstBad int
		partial  string // the starred verdict of some step
	}{
		{[]float64{100, 100, 100, 160, 200, 200, 200}, 3, "bad*"},
		{[]float64{100, 100, 100, 130, 200, 200, 200}, 4, "good*"},
		{[]float64{100, 100, 130, 130, 130, 130, 160, 160, 200}, 6, ""},
	} {
		f, _ := synthetic(tc.levels, 0.01, 3)
		r, err := Bisect(context.Background(), labels(len(tc.levels)), 0, len(tc.levels)-1, f, BisectParams{MaxBoots: 8})
		if err != nil {
			t.Fatal(err)
		}
		var verdicts []string
		for _, s := range r.Partial() {
			verdicts = append(verdicts, s.Verdict)
		}
		if r.FirstBad != tc.firstBad || len(verdicts) == 0 || (tc.partial != "" && !slices.Contains(verdicts, tc.partial)) {
			t.Errorf("%v: first bad %d, partial %v; want k%02d and a partial step %s", tc.levels, r.FirstBad, verdicts, tc.firstBad, tc.partial)
		}
		var b strings.Builder
		WriteBisect(&b, r, "sec/op", time.Second)
		if !strings.Contains(b.String(), "differs from both endpoints") {
			t.Errorf("%v: the verdict does not say what the partial steps show:\n%s", tc.levels, b.String())
		}
	}
}

// A kernel beyond bad is neither like good, nor like bad, nor a step on
// the way: the search stops undecided at the cap, saying where the change
// lies, rather than guessing.
func TestBisectUndecidedHonestly(t *testing.T) {
	levels := []float64{100, 100, 100, 250, 200, 200, 200}
	f, _ := synthetic(levels, 0.01, 5)
	r, err := Bisect(context.Background(), labels(len(levels)), 0, len(levels)-1, f, BisectParams{MaxBoots: 8})
	if err != nil {
		t.Fatal(err)
	}
	if r.FirstBad != -1 || r.Reason == "" || r.Lo > 2 || r.Hi < 4 {
		t.Errorf("result %+v: want undecided with the change located around k03", r)
	}
	t.Log(r.Reason)
}

// A host that grows busier after the endpoints' boots: every later boot
// reads ×1.8. Judged against the endpoints' first boots, the kernel after
// good reads as slow as bad and the bisection names it; judged against
// endpoints booted beside each kernel (Beside), it names the real step.
func TestBisectBesideDrift(t *testing.T) {
	const n, first = 9, 6
	levels := stepLevels(n, first, 400, 600)
	early, _ := synthetic(levels, 0.01, 7)
	drift := 1.8
	late, _ := synthetic(levels, 0.01, 8)
	f := func(ctx context.Context, i, boots int) ([]float64, error) {
		if i == 0 || i == n-1 {
			return early(ctx, i, boots) // the endpoints, booted first
		}
		xs, err := late(ctx, i, boots)
		return scaled(xs, drift), err
	}
	r, err := Bisect(context.Background(), labels(n), 0, n-1, f, BisectParams{MaxBoots: 8})
	if err != nil {
		t.Fatal(err)
	}
	if r.FirstBad == first {
		t.Fatalf("without Beside the drift did not mislead the search (first bad %d): the test shows nothing", r.FirstBad)
	}
	beside := func(ctx context.Context, i, boots int) (xs, g, b []float64, err error) {
		// Each step's three kernels, booted together on the busier host.
		rng, _ := synthetic(levels, 0.01, uint64(100+i))
		xs, _ = rng(ctx, i, boots)
		g, _ = rng(ctx, 0, boots)
		b, _ = rng(ctx, n-1, boots)
		return scaled(xs, drift), scaled(g, drift), scaled(b, drift), nil
	}
	r, err = Bisect(context.Background(), labels(n), 0, n-1, f, BisectParams{MaxBoots: 8, Beside: beside})
	if err != nil {
		t.Fatal(err)
	}
	if r.FirstBad != first {
		t.Errorf("with Beside: first bad %d, want %d (%s)", r.FirstBad, first, r.Reason)
	}
}

func scaled(xs []float64, k float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x * k
	}
	return out
}
