package stats

import (
	"kharness/results/stream"
	"math"
	"strings"
	"testing"

	"golang.org/x/perf/benchmath"
)

func TestBootsToDetect(t *testing.T) {
	if got := minBootsFor(0.05); got != 4 {
		t.Errorf("minBootsFor(0.05) = %d, want 4 (2/C(8,4) = 0.029)", got)
	}
	if got := minBootsFor(0.01); got != 5 {
		t.Errorf("minBootsFor(0.01) = %d, want 5 (2/C(10,5) = 0.008)", got)
	}
	for _, tc := range []struct {
		cv, delta, alpha float64
		want             int
	}{
		{0.02, 0.05, 0.05, 4},  // 2.6 by the formula: the test's floor
		{0.05, 0.05, 0.05, 17}, // 2·2.80²·1/0.955 = 16.4
		{0.10, 0.05, 0.05, 66},
		{0, 0.05, 0.05, 4},
		{math.NaN(), 0.05, 0.05, 0},
		{0.02, 0, 0.05, 0},
	} {
		if got := BootsToDetect(tc.cv, tc.delta, tc.alpha); got != tc.want {
			t.Errorf("BootsToDetect(%v, %v, %v) = %d, want %d", tc.cv, tc.delta, tc.alpha, got, tc.want)
		}
	}
	if s := relSpread([]float64{100, 101, 99, 100, 150}); math.Abs(s-0.014826) > 1e-9 {
		t.Errorf("relSpread = %v: one slow boot must not dominate", s)
	}
	if !math.IsNaN(relSpread([]float64{1, 2})) {
		t.Error("relSpread of 2 boots is not NaN")
	}
}

// compare -detect prints a plan for each timed row from its cells' spread.
func TestDetectFooter(t *testing.T) {
	tab := &Table{Alpha: 0.05, Detect: 0.05, Rows: []Row{
		{Benchmark: "NullSyscall/call=getppid", Unit: "sec/op", Key: "6.1", Cells: []Cell{{Spread: 0.05}, {Spread: 0.02}}},
		{Benchmark: "NullSyscall/call=getppid", Unit: stream.InsnsUnit, Key: "6.1", Cells: []Cell{{Spread: 0}}},
		{Benchmark: "Pipe", Unit: "sec/op", Key: "6.1", Cells: []Cell{{Spread: math.NaN()}}},
	}}
	got := strings.Join(tab.DetectLines(), "\n")
	want := "to call a 5% change (α 0.05, power 80%, from this host's spread between boots):\n" +
		"  NullSyscall/call=getppid 6.1: boots spread 5.0% → 17 boots a side\n" +
		"  Pipe 6.1: fewer than 3 boots in every cell: no spread measured yet"
	if got != want {
		t.Errorf("detect footer:\n%s\nwant:\n%s", got, want)
	}
}

// A p-value is a probability, also for tied boots (benchmath's two-sided
// Mann-Whitney doubles the smaller tail past 1 there).
func TestComparePValueAtMostOne(t *testing.T) {
	base := benchmath.NewSample([]float64{83.33, 100}, &benchmath.Thresholds{CompareAlpha: 0.05})
	s := benchmath.NewSample([]float64{100}, &benchmath.Thresholds{CompareAlpha: 0.05})
	tab := &Table{Alpha: 0.05, Threshold: 0.02}
	var c Cell
	c.Center = 95
	tab.compare(&c, "sys%", base, s, 100)
	if !(c.P <= 1) {
		t.Errorf("p = %v, want at most 1", c.P)
	}
}
