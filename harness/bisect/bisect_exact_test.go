package bisect

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// exactKernels is a SampleFunc over kernels whose boots give counts[i]
// (one value a boot, cycling through the kernel's list), recording how
// many boots each kernel got.
func exactKernels(counts [][]float64, booted map[int]int) SampleFunc {
	return func(_ context.Context, i, boots int) ([]float64, error) {
		booted[i] = max(booted[i], boots)
		xs := make([]float64, boots)
		for b := range xs {
			xs[b] = counts[i][b%len(counts[i])]
		}
		return xs, nil
	}
}

func TestBisectExact(t *testing.T) {
	labels := []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"}
	one := func(vs ...float64) [][]float64 {
		out := make([][]float64, len(vs))
		for i, v := range vs {
			out[i] = []float64{v}
		}
		return out
	}
	t.Run("one step, one boot a kernel", func(t *testing.T) {
		booted := map[int]int{}
		r, err := BisectExact(t.Context(), labels, 0, 7, exactKernels(one(323, 323, 323, 325, 325, 325, 325, 325), booted), 0.001)
		if err != nil || r.FirstBad != 3 || r.Lo != 2 {
			t.Fatalf("first bad %d (last good %d), %v; want k3 after k2", r.FirstBad, r.Lo, err)
		}
		if booted[0] != 2 || booted[7] != 2 || booted[3] != 1 || booted[2] != 1 {
			t.Errorf("boots %v: want 2 for each endpoint and 1 for each kernel judged", booted)
		}
	})
	t.Run("a partial step", func(t *testing.T) {
		booted := map[int]int{}
		r, err := BisectExact(t.Context(), labels, 0, 7, exactKernels(one(323, 323, 323, 324, 325, 325, 325, 325), booted), 0.001)
		if err != nil || r.FirstBad != 4 {
			t.Fatalf("first bad %d, %v; want k4", r.FirstBad, err)
		}
		if ps := r.Partial(); len(ps) != 1 || ps[0].Label != "k3" || booted[3] != 2 {
			t.Errorf("partial steps %+v, k3 booted %d times; want k3 starred after 2 boots", ps, booted[3])
		}
	})
	t.Run("boots that disagree", func(t *testing.T) {
		counts := one(323, 323, 323, 0, 325, 325, 325, 325)
		counts[3] = []float64{324, 330}
		r, err := BisectExact(t.Context(), labels, 0, 7, exactKernels(counts, map[int]int{}), 0.001)
		if err != nil || r.FirstBad != -1 || !strings.Contains(r.Reason, "boots disagree") {
			t.Fatalf("first bad %d, reason %q, %v; want undecided at k3", r.FirstBad, r.Reason, err)
		}
	})
	t.Run("endpoints equal", func(t *testing.T) {
		_, err := BisectExact(t.Context(), labels, 0, 7, exactKernels(one(325, 325, 325, 325, 325, 325, 325, 325.1), map[int]int{}), 0.001)
		if !errors.Is(err, ErrEndpointsSame) {
			t.Fatalf("err %v, want ErrEndpointsSame", err)
		}
	})
}

// TestBisectExactNearerEndpoint: with wide endpoint spreads a count can
// be "the same" as both endpoints; it is then judged by the nearer one,
// not by whichever test comes first. Good's boots are 100 and 140 (spread
// 40), bad's 181: a kernel at 155 is within good's spread of good's
// median (120) and within it of bad's, and nearer bad.
func TestBisectExactNearerEndpoint(t *testing.T) {
	labels := []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"}
	counts := [][]float64{{100, 140}, {120}, {120}, {155}, {181}, {181}, {181}, {181}}
	for _, tc := range []struct {
		name string
		k3   float64
		want int
	}{
		{"nearer bad", 155, 3},
		{"nearer good", 145, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counts[3] = []float64{tc.k3}
			r, err := BisectExact(t.Context(), labels, 0, 7, exactKernels(counts, map[int]int{}), 0.001)
			if err != nil || r.FirstBad != tc.want {
				t.Fatalf("k3 at %v: first bad %d, %v; want k%d (steps %+v)", tc.k3, r.FirstBad, err, tc.want, r.Steps)
			}
		})
	}
}

// TestBisectExactWidth: judging two or three kernels at once finds the
// same first bad kernel as one at a time, wherever the step lies, in
// fewer rounds; a partial step is still starred, and boots that disagree
// still stop the search.
func TestBisectExactWidth(t *testing.T) {
	labels := []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11", "k12"}
	counts := func(step int) [][]float64 {
		out := make([][]float64, len(labels))
		for i := range out {
			out[i] = []float64{323}
			if i >= step {
				out[i] = []float64{325}
			}
		}
		return out
	}
	for _, width := range []int{1, 2, 3} {
		for step := 1; step < len(labels); step++ {
			var mu sync.Mutex
			booted := map[int]int{}
			f := exactKernels(counts(step), booted)
			locked := func(ctx context.Context, i, n int) ([]float64, error) {
				mu.Lock()
				defer mu.Unlock()
				return f(ctx, i, n)
			}
			r, err := BisectExactWidth(t.Context(), labels, 0, len(labels)-1, locked, 0.001, width)
			if err != nil || r.FirstBad != step || r.Lo != step-1 {
				t.Fatalf("width %d, step at k%d: first bad %d (last good %d), %v", width, step, r.FirstBad, r.Lo, err)
			}
			if judged := len(r.Steps) - 2; judged > width*4 {
				t.Errorf("width %d, step at k%d: %d kernels judged, want at most %d", width, step, judged, width*4)
			}
		}
	}
	c := counts(4)
	c[3] = []float64{324}
	r, err := BisectExactWidth(t.Context(), labels, 0, len(labels)-1, exactKernels(c, map[int]int{}), 0.001, 2)
	if err != nil || r.FirstBad != 4 || len(r.Partial()) != 1 {
		t.Fatalf("partial step at k3: first bad %d, partial %+v, %v", r.FirstBad, r.Partial(), err)
	}
	c[3] = []float64{324, 330}
	r, err = BisectExactWidth(t.Context(), labels, 0, len(labels)-1, exactKernels(c, map[int]int{}), 0.001, 2)
	if err != nil || r.FirstBad != -1 || !strings.Contains(r.Reason, "boots disagree") {
		t.Fatalf("k3's boots disagree: first bad %d, reason %q, %v", r.FirstBad, r.Reason, err)
	}
}
