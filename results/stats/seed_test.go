package stats

import (
	"testing"
)

// TestMedianCI checks the order statistics of the distribution-free CI
// of a median against the binomial tables.
func TestMedianCI(t *testing.T) {
	seq := func(n int) []float64 {
		vs := make([]float64, n)
		for i := range vs {
			vs[i] = float64(i + 1)
		}
		return vs
	}
	for _, tc := range []struct {
		n      int
		lo, hi float64
	}{
		{5, 1, 5},    // P(B<1) = 0.031 > 0.025: no interval narrower than the range
		{6, 1, 6},    // P(B<1) = 0.016, P(B<2) = 0.109: k = 1
		{10, 2, 9},   // P(B<2) = 0.011, P(B<3) = 0.055
		{30, 10, 21}, // P(B<10) = 0.021, P(B<11) = 0.049
		{100, 40, 61},
	} {
		lo, hi := medianCI(seq(tc.n), 0.95)
		if lo != tc.lo || hi != tc.hi {
			t.Errorf("n=%d: [%v, %v], want [%v, %v]", tc.n, lo, hi, tc.lo, tc.hi)
		}
	}
}
