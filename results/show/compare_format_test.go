package show

import (
	"testing"

	"golang.org/x/perf/benchmath"
)

// A cell whose interval reaches across its center's sign (a usr% of 0 in
// some boots) shows the interval, not "± ?".
func TestSpreadNeverQuestionMark(t *testing.T) {
	for _, tc := range []struct {
		ci   benchmath.Summary
		want string
	}{
		{benchmath.Summary{Center: 100, Lo: 90, Hi: 110}, "± 10%"},
		{benchmath.Summary{Center: 0.5, Lo: 0, Hi: 1.2}, "[0.000..1.200]"},
		{benchmath.Summary{Center: 0, Lo: -1, Hi: 2}, "[-1.000..2.000]"},
	} {
		if got := spread(tc.ci, "usr%"); got != tc.want {
			t.Errorf("spread(%+v) = %q, want %q", tc.ci, got, tc.want)
		}
	}
}
