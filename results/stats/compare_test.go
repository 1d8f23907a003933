package stats

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kharness/results/internal/fakerun"
	"kharness/results/store"
)

func TestCompare(t *testing.T) {
	dirs := fakerun.Runs(t)
	tab, err := Compare(dirs, CompareOptions{Column: "kernel"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tab.Columns, ","); got != "fast,slow,broken" {
		t.Errorf("columns = %s, want fast,slow,broken", got)
	}
	cell := func(bench, unit, key string, col int) Cell {
		for _, r := range tab.Rows {
			if r.Benchmark == bench && r.Unit == unit && r.Key == key {
				return r.Cells[col]
			}
		}
		t.Fatalf("no row %s %s %s", bench, unit, key)
		return Cell{}
	}
	fast := cell("NullSyscall-2", "sec/op", "default", 0)
	if fast.Boots != 5 || !near(fast.Center, 460e-9) || fast.Lo >= fast.Center || fast.Hi <= fast.Center || math.IsInf(fast.Lo, 0) || len(fast.CINotes) != 1 {
		t.Errorf("fast/default = %+v, want 5 boots, median 460ns, the range over boots (too few for a 95%% CI) with a note", fast)
	}
	slow := cell("NullSyscall-2", "sec/op", "default", 1)
	if slow.Boots != 5 || !near(slow.Center, 10200e-9) || !near(slow.Ratio, 10200.0/460) || slow.P > 0.01 {
		t.Errorf("slow/default = %+v, want 5 boots, median 10.2µs, ratio ×22.17, p < 0.01", slow)
	}
	quiet := cell("NullSyscall-2", "sec/op", "quiet", 0)
	if quiet.Boots != 6 || !near(quiet.Center, 456e-9) || !near(quiet.Lo, 450e-9) || !near(quiet.Hi, 460e-9) {
		t.Errorf("fast/quiet = %+v, want 6 boots, median 456ns in [450ns, 460ns]", quiet)
	}
	if c := cell("NullSyscall-2", "sec/op", "quiet", 1); c.Boots != 4 || c.Failed != 1 || c.Reason != "panic: Oops: general protection fault" {
		t.Errorf("slow/quiet = %+v, want 4 boots and 1 failed", c)
	}
	broken := cell("NullSyscall-2", "sec/op", "default", 2)
	if broken.Boots != 0 || broken.Failed != 5 || !strings.HasPrefix(broken.Reason, "panic: Kernel panic") || broken.Ratio != 0 {
		t.Errorf("broken/default = %+v, want 5 failed", broken)
	}
	if c := cell("Pipe-2", "B/op", "default", 0); c.Boots != 5 || c.Center != 8 {
		t.Errorf("fast/default B/op = %+v", c)
	}
	if c := cell("Pipe-2", "sec/op", "default", 1); c.Boots != 0 || c.Failed != 0 {
		t.Errorf("slow/default Pipe = %+v, want nothing", c)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Abs(b) }

func TestCompareCalls(t *testing.T) {
	five := []float64{100, 101, 102, 103, 104}
	six := []float64{100, 101, 102, 103, 104, 105}
	scale := func(vs []float64, f float64) []float64 {
		var out []float64
		for _, v := range vs {
			out = append(out, v*f)
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		unit      string
		base, new []float64
		opt       CompareOptions
		want      Call
		note      string // a note the cell must have
	}{
		{"slower", "ns/op", five, scale(five, 1.10), CompareOptions{}, CallRegression, ""},
		{"faster", "ns/op", five, scale(five, 0.90), CompareOptions{}, CallImprovement, ""},
		{"more bytes", "B/op", five, scale(five, 1.10), CompareOptions{}, CallRegression, ""},
		{"higher throughput", "MB/s", five, scale(five, 1.10), CompareOptions{}, CallImprovement, ""},
		{"lower throughput", "MB/s", five, scale(five, 0.90), CompareOptions{}, CallRegression, ""},
		{"fewer ops/s", "ops/s", five, scale(five, 0.5), CompareOptions{}, CallRegression, ""},
		{"significant but below threshold", "ns/op", []float64{100, 100.1, 100.2, 100.3, 100.4}, []float64{101, 101.1, 101.2, 101.3, 101.4}, CompareOptions{}, CallSame, ""},
		{"below threshold, threshold 0", "ns/op", []float64{100, 100.1, 100.2, 100.3, 100.4}, []float64{101, 101.1, 101.2, 101.3, 101.4}, CompareOptions{Threshold: -1}, CallRegression, ""},
		{"above threshold but noisy", "ns/op", []float64{100, 200, 300, 400, 500}, []float64{150, 250, 360, 450, 550}, CompareOptions{}, CallSame, ""},
		{"overlapping, alpha 0.05", "ns/op", six, []float64{103.5, 104.5, 107, 108, 109, 110}, CompareOptions{}, CallRegression, ""},
		{"overlapping, p above alpha 0.01", "ns/op", six, []float64{103.5, 104.5, 107, 108, 109, 110}, CompareOptions{Alpha: 0.01}, CallSame, ""},
		{"too few boots", "ns/op", five[:3], scale(five[:3], 2), CompareOptions{}, CallSame, "too few boots to call (need >= 4 a side)"},
		{"too few baseline boots", "ns/op", five[:2], scale(five, 2), CompareOptions{}, CallSame, "too few boots to call (need >= 4 a side)"},
		{"3 and 5 boots can be called", "ns/op", five[:3], scale(five, 2), CompareOptions{}, CallRegression, ""},
		{"too few for alpha 0.01", "ns/op", five[:4], scale(five[:4], 2), CompareOptions{Alpha: 0.01}, CallSame, "too few boots to call (need >= 5 a side)"},
		{"A/A", "ns/op", five, []float64{104, 100, 103, 101, 102}, CompareOptions{}, CallSame, ""},
		{"counter doubled", "ctxsw/s", five, scale(five, 2), CompareOptions{}, CallNone, "shown, not called"},
		{"share halved", "sys%", five, scale(five, 0.5), CompareOptions{}, CallNone, "shown, not called"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opt.Column = "kernel"
			tab, err := Compare(fakerun.BenchRun(t, tc.unit, tc.base, tc.new), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			c := tab.Rows[0].Cells[1]
			var notes []string
			for _, n := range c.PNotes {
				notes = append(notes, tab.Notes[n-1])
			}
			if c.Call != tc.want || tc.note != "" && !strings.Contains(strings.Join(notes, "\n"), tc.note) {
				t.Errorf("%s: call %q (ratio %.4f, p %.4f), notes %q; want %q and note %q", tab.Rows[0].Unit, c.Call, c.Ratio, c.P, notes, tc.want, tc.note)
			}
			if want := 0; c.Call == CallRegression {
				want = 1
				if tab.Regressions() != want {
					t.Errorf("Regressions() = %d, want %d", tab.Regressions(), want)
				}
			} else if tab.Regressions() != want {
				t.Errorf("Regressions() = %d, want %d", tab.Regressions(), want)
			}
			if c0 := tab.Rows[0].Cells[0]; c0.Call != CallNone {
				t.Errorf("first column call %q, want none", c0.Call)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		unit   string
		ratio  float64
		p      float64
		n1, n2 int
		want   Call
		tooFew bool
	}{
		{"sec/op", 1.02, 0.001, 10, 10, CallSame, false}, // exactly the threshold is not more than it
		{"sec/op", 1.0201, 0.001, 10, 10, CallRegression, false},
		{"sec/op", 0.9799, 0.001, 10, 10, CallImprovement, false},
		{"sec/op", 1.5, 0.05, 10, 10, CallSame, false}, // p must be below alpha
		{"B/s", 1.5, 0.001, 10, 10, CallImprovement, false},
		{"B/s", 0.5, 0.001, 10, 10, CallRegression, false},
		{"allocs/op", 0.5, 0.001, 10, 10, CallImprovement, false},
		{"sec/op", 2, 0.001, 3, 3, CallSame, true}, // whatever p says
		{"sec/op", 2, 0.029, 4, 4, CallRegression, false},
		{"sec/op", 2, 0.001, 0, 4, CallSame, true},
	} {
		call, tooFew := decide(tc.unit, tc.ratio, tc.p, tc.n1, tc.n2, 0.05, 0.02)
		if call != tc.want || tooFew != tc.tooFew {
			t.Errorf("decide(%s, ×%v, p=%v, %d vs %d) = %q, %v; want %q, %v", tc.unit, tc.ratio, tc.p, tc.n1, tc.n2, call, tooFew, tc.want, tc.tooFew)
		}
	}
	for _, tc := range []struct {
		alpha float64
		want  int
	}{{0.05, 4}, {0.1, 4}, {0.11, 3}, {0.01, 5}, {0.001, 7}} {
		if got := needPerSide(tc.alpha); got != tc.want {
			t.Errorf("needPerSide(%v) = %d, want %d", tc.alpha, got, tc.want)
		}
	}
	for _, u := range []string{"B/s", "ops/s", "frames/sec"} {
		if !higherIsBetter(u) {
			t.Errorf("higherIsBetter(%s) = false", u)
		}
	}
	for _, u := range []string{"sec/op", "B/op", "allocs/op", "sec", "cycles", "s/op"} {
		if higherIsBetter(u) {
			t.Errorf("higherIsBetter(%s) = true", u)
		}
	}
}

func TestCompareAccelMismatch(t *testing.T) {
	dirs := fakerun.Runs(t)
	tcg := filepath.Join(t.TempDir(), "tcg")
	s, err := store.Open(tcg)
	if err != nil {
		t.Fatal(err)
	}
	fakerun.Boot(t, s, "fast", "default", 0, "tcg", 20000, 0, "")
	_, err = Compare(append(dirs, tcg), CompareOptions{})
	var me *MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("Compare of kvm and tcg boots: %v, want a *MismatchError", err)
	}
	if len(me.Diffs) != 1 || me.Diffs[0].Field != "accel" || me.Diffs[0].Value2 != "tcg" ||
		!strings.HasPrefix(me.Diffs[0].Boot2, tcg) || !strings.HasPrefix(me.Diffs[0].Boot1, dirs[0]) {
		t.Errorf("mismatch = %+v", me.Diffs)
	}
	t.Logf("error: %v", err)
	tab, err := Compare(append(dirs, tcg), CompareOptions{Force: true})
	if err != nil {
		t.Fatalf("Compare with Force: %v", err)
	}
	if got := strings.Join(tab.Accel, ","); got != "kvm,tcg" {
		t.Errorf("accel = %s, want kvm,tcg", got)
	}
}

func TestCompareErrors(t *testing.T) {
	dirs := fakerun.Runs(t)
	if _, err := Compare(dirs, CompareOptions{Column: "boot"}); err == nil {
		t.Error("Compare with column axis boot succeeded")
	}
	for _, opt := range []CompareOptions{{Alpha: 1}, {Alpha: -0.1}, {Alpha: math.NaN()}, {Threshold: math.Inf(1)}, {Threshold: math.NaN()}} {
		if _, err := Compare(dirs, opt); err == nil {
			t.Errorf("Compare with %+v succeeded", opt)
		}
	}
	if _, err := Compare([]string{t.TempDir()}, CompareOptions{}); err == nil {
		t.Error("Compare of an empty run succeeded")
	}
	if _, err := Compare([]string{filepath.Join(t.TempDir(), "none")}, CompareOptions{}); err == nil {
		t.Error("Compare of a missing run succeeded")
	}
	// A boot.bench that is not what boot.json says it was.
	bench := filepath.Join(dirs[0], "cells", "fast--default", "boot-00-a1", store.BenchFile)
	if err := os.WriteFile(bench, []byte("BenchmarkNullSyscall 1 1 ns/op\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Compare(dirs, CompareOptions{})
	if err == nil || !strings.Contains(err.Error(), bench) {
		t.Errorf("Compare with a corrupt boot.bench: %v, want an error naming %s", err, bench)
	}
}

// TestCompareRunAxis compares two run directories holding the same cells,
// before and after: each run is a column. Under KVM the timed row is
// called; under TCG, where the host drifts between runs, it is shown
// (ratio and p) but not called, with a note saying why; an exact row is
// called across runs under either.
func TestCompareRunAxis(t *testing.T) {
	for _, accel := range []string{"kvm", "tcg"} {
		root := t.TempDir()
		before, after := filepath.Join(root, "before"), filepath.Join(root, "after")
		writeRunAxis(t, before, accel, 460, 325)
		writeRunAxis(t, after, accel, 520, 333)
		tab, err := Compare([]string{before, after}, CompareOptions{Column: "run"})
		if err != nil {
			t.Fatal(err)
		}
		if len(tab.Columns) != 2 || tab.Columns[0] != "before" || tab.Columns[1] != "after" {
			t.Fatalf("%s: columns %v", accel, tab.Columns)
		}
		for _, r := range tab.Rows {
			c := r.Cells[1]
			switch {
			case r.Key != "k/default":
				t.Errorf("%s: row %s, want k/default", accel, r.Key)
			case r.Unit == "insns/op" && (c.Call != CallRegression || c.Delta != 8):
				t.Errorf("%s: exact row: after = %+v, want a regression of +8", accel, c)
			case r.Unit == "sec/op" && accel == "kvm" && (c.Call != CallRegression || c.Ratio < 1.1):
				t.Errorf("kvm: timed row: after = %+v, want a regression of ~×1.13", c)
			case r.Unit == "sec/op" && accel == "tcg" && (c.Call != CallNone || c.Ratio < 1.1 || len(c.PNotes) == 0 ||
				!strings.Contains(tab.Notes[c.PNotes[0]-1], "across separate runs is shown, not called")):
				t.Errorf("tcg: timed row: after = %+v (notes %q), want ×1.13 shown, not called, with the note", c, tab.Notes)
			}
		}
		if len(tab.Rows) != 2 {
			t.Errorf("%s: %d rows, want the exact and the timed", accel, len(tab.Rows))
		}
	}
}

// writeRunAxis writes a run of 5 boots of one cell: a time near ns and an
// exact count.
func writeRunAxis(t *testing.T, dir, accel string, ns, insns float64) {
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 5; b++ {
		a, err := s.NewAttempt(store.CellName("k", "default"), b, 1)
		if err != nil {
			t.Fatal(err)
		}
		bench := fmt.Sprintf("kernel: k\nBenchmarkNullSyscall 1000 %.1f ns/op\nBenchmarkNullSyscall 1000 %.0f insns/op\n", ns+float64(b), insns)
		if err := os.WriteFile(a.Path(store.BenchFile), []byte(bench), 0o644); err != nil {
			t.Fatal(err)
		}
		rec := &store.BootRecord{Kernel: store.KernelInfo{Label: "k"}, Config: store.BootConfig{Name: "default"}, Status: store.StatusOK, Accel: accel}
		if err := a.Commit(rec); err != nil {
			t.Fatal(err)
		}
	}
}
