package stats

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"kharness/results/store"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// refBoot commits an ok boot of kernel whose getppid samples are ns and
// whose host reference read ref ns an iteration around each (0: no
// reference, as before the guest timed one).
func refBoot(t *testing.T, s *store.Store, kernel string, boot int, ns []float64, ref []float64) {
	t.Helper()
	a, err := s.NewAttempt(store.CellName(kernel, "default"), boot, 1)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "kernel: %s\n", kernel)
	for i, v := range ns {
		fmt.Fprintf(&b, "BenchmarkNullSyscall/call=getppid 100000 %g ns/op", v)
		if ref[i] > 0 {
			fmt.Fprintf(&b, " %g ref-ns/op", ref[i])
		}
		b.WriteString("\n")
	}
	sum := sha256.Sum256(b.Bytes())
	if err := os.WriteFile(a.Path(store.BenchFile), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := &store.BootRecord{Kernel: store.KernelInfo{Label: kernel}, Config: store.BootConfig{Name: "default"}, Accel: "tcg",
		QEMUVersion: "7.2", GuestCPU: "qemu64", Status: store.StatusOK, BenchSHA256: hex.EncodeToString(sum[:])}
	if err := a.Commit(rec); err != nil {
		t.Fatal(err)
	}
}

// guardRun is what the guard is for: kernels "old" and "new" cost the
// same (450 ns), but two of new's six boots, half of a third and the end
// of a fourth ran while the host was 1.7x slower, as the reference shows;
// "all-slow"'s every boot did. It returns the run directory.
func guardRun(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	s := openRun(t, dir, "old", "new", "all-slow")
	fast := []float64{5.0, 5.2, 5.1, 5.3}
	slow := []float64{8.6, 8.4, 8.9, 8.5}
	for i := range 5 {
		refBoot(t, s, "old", i, []float64{450 + float64(i), 452, 449, 451}, fast)
	}
	refBoot(t, s, "new", 0, []float64{451, 450, 452, 449}, fast)
	refBoot(t, s, "new", 1, []float64{765, 770, 760, 768}, slow)
	refBoot(t, s, "new", 2, []float64{450, 453, 449, 451}, fast)
	refBoot(t, s, "new", 3, []float64{772, 766, 769, 761}, slow)
	refBoot(t, s, "new", 4, []float64{448, 451, 450, 771}, []float64{5.1, 5.0, 5.2, 8.8})
	// Half slow: the host flapped within the boot, and a sample between
	// fast references (520) is not to be trusted either.
	refBoot(t, s, "new", 5, []float64{470, 770, 520, 771}, []float64{5.1, 8.7, 5.0, 8.8})
	for i := range 3 {
		refBoot(t, s, "all-slow", i, []float64{760, 765, 770, 768}, slow)
	}
	return dir
}

func TestHostGuardBootSamples(t *testing.T) {
	dir := guardRun(t)
	re := regexp.MustCompile("getppid")
	of := func(k string) func(*store.BootRecord) bool {
		return func(b *store.BootRecord) bool { return b.Kernel.Label == k }
	}
	vals, _, _, err := BootSamplesCorrected([]string{dir}, of("new"), re, "sec/op", StatMedian, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	// Boots 1, 3 and 5 are set aside whole; boot 4 keeps its fast samples.
	if len(vals) != 3 {
		t.Fatalf("guarded: %d boots of new, want 3 (three set aside): %v", len(vals), vals)
	}
	for _, v := range vals {
		if v > 460e-9 {
			t.Errorf("guarded boot of new at %v: a host-slow sample was kept", v)
		}
	}
	vals, _, _, err = BootSamples([]string{dir}, of("new"), re, "sec/op", StatMedian, -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != 6 {
		t.Fatalf("unguarded: %d boots of new, want 6", len(vals))
	}
	// Each cell is judged against its own typical level (a kernel or
	// config that makes the guest's interrupts dearer moves the
	// reference): a cell whose every boot ran slow keeps them. Boots of
	// all cells interleave, so that takes a host slow for a whole run.
	vals, _, _, err = BootSamplesCorrected([]string{dir}, of("all-slow"), re, "sec/op", StatMedian, 0, false)
	if err != nil || len(vals) != 3 {
		t.Fatalf("all-slow guarded: %v, %v; want its 3 boots, judged against its own level", vals, err)
	}
	// A benchmark no boot has is still an error.
	if _, _, _, err := BootSamples([]string{dir}, of("new"), regexp.MustCompile("nothing"), "sec/op", StatMedian, 0); err == nil {
		t.Error("a benchmark no boot has gave no error")
	}
}

func TestHostGuardStats(t *testing.T) {
	boots, err := store.LoadBoots(guardRun(t))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Guard(boots, DefaultSlowFactor).Stats()
	if err != nil {
		t.Fatal(err)
	}
	// One level a cell; new's: 13 of its 24 references are fast (5.0-5.3
	// ns), so its median is one.
	want := GuardStats{Factor: DefaultSlowFactor, Samples: 14 * 4, SetAside: 2*4 + 1 + 4, Boots: 14, WholeBoot: 3}
	if len(st.Levels) != 3 || !(st.Levels[0] >= 5.0e-9 && st.Levels[0] <= 5.3e-9) || st.Samples != want.Samples || st.SetAside != want.SetAside || st.Boots != want.Boots || st.WholeBoot != want.WholeBoot {
		t.Errorf("stats %+v, want %+v and 3 levels, the lowest in [5.0, 5.3] ns", st, want)
	}
	if s := st.String(); !strings.Contains(s, "13 of 56 samples") || !strings.Contains(s, "3 of 14 boots whole") {
		t.Errorf("note %q does not count what was set aside", s)
	}
}

func TestHostGuardCompare(t *testing.T) {
	dir := guardRun(t)
	// Set aside, new costs what old does; scaled (the default), within a
	// few percent (the slow stretches here slowed the benchmark 1.70× and
	// the reference 1.67×: a correction is as good as the reference is
	// proportional); unguarded, the host-slow boots drag new's median up
	// by a third.
	for _, tc := range []struct {
		slow     float64
		correct  bool
		lo, hi   float64
		guardMsg string
		mayCall  bool
	}{
		{0, false, 0.99, 1.01, "were set aside", false},
		{0, true, 0.97, 1.06, "scaled", true},
		{-1, false, 1.2, 1.5, "guard off", false},
	} {
		tab, err := Compare([]string{dir}, CompareOptions{Column: "kernel", SlowFactor: tc.slow, Threshold: 0.02, HostCorrect: tc.correct})
		if err != nil {
			t.Fatal(err)
		}
		var cell *Cell
		for i, c := range tab.Columns {
			if c == "new" && len(tab.Rows) > 0 {
				cell = &tab.Rows[0].Cells[i]
			}
		}
		if cell == nil || tab.Rows[0].Unit != "sec/op" {
			t.Fatalf("slow-factor %v: no sec/op cell for new in %+v", tc.slow, tab.Rows)
		}
		if !(cell.Ratio >= tc.lo && cell.Ratio <= tc.hi) || (cell.Call == CallRegression && !tc.mayCall) {
			t.Errorf("slow-factor %v: new ×%.3f against old (p=%.3f, %q), want ×%.2f..%.2f and no regression", tc.slow, cell.Ratio, cell.P, cell.Call, tc.lo, tc.hi)
		}
		if !strings.Contains(tab.Guard, tc.guardMsg) {
			t.Errorf("slow-factor %v: guard note %q, want it to say %q", tc.slow, tab.Guard, tc.guardMsg)
		}
		for _, r := range tab.Rows {
			if strings.HasPrefix(r.Unit, "ref-") {
				t.Errorf("the reference became a row: %+v", r)
			}
		}
	}
}

// Boots without a reference, from before the guest timed one, are kept
// whole and the guard says nothing.
func TestHostGuardNoReference(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	s := openRun(t, dir, "old")
	refBoot(t, s, "old", 0, []float64{450, 451}, []float64{0, 0})
	refBoot(t, s, "old", 1, []float64{750, 751}, []float64{0, 0})
	tab, err := Compare([]string{dir}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Guard != "" || tab.Rows[0].Cells[0].Boots != 2 {
		t.Errorf("no reference: guard %q, %d boots; want no note and both boots", tab.Guard, tab.Rows[0].Cells[0].Boots)
	}
}

// openRun opens a run directory of kernels under config "default", made
// on host "ci".
func openRun(t *testing.T, dir string, kernels ...string) *store.Store {
	return openRunOn(t, dir, "ci", kernels...)
}

// openRunOn is openRun on the named host.
func openRunOn(t *testing.T, dir, host string, kernels ...string) *store.Store {
	t.Helper()
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rr := &store.RunRecord{Configs: []store.BootConfig{{Name: "default"}}, Host: store.HostInfo{Hostname: host}}
	for _, k := range kernels {
		rr.Kernels = append(rr.Kernels, store.KernelInfo{Label: k})
	}
	if err := s.WriteRun(rr); err != nil {
		t.Fatal(err)
	}
	return s
}

// Two hosts, one twice as fast: each host's boots are judged against its
// own level, so the slower machine's boots are not taken for slow
// stretches of the faster one, while a slow stretch on either still is.
func TestHostGuardPerHost(t *testing.T) {
	fastDir, slowDir := filepath.Join(t.TempDir(), "fast"), filepath.Join(t.TempDir(), "slow")
	fs, ss := openRunOn(t, fastDir, "fast-node", "k"), openRunOn(t, slowDir, "slow-node", "k")
	for i := range 4 {
		refBoot(t, fs, "k", i, []float64{300, 301, 302, 299}, []float64{2.5, 2.6, 2.5, 2.4})
		refBoot(t, ss, "k", i, []float64{450, 451, 452, 449}, []float64{5.0, 5.1, 5.2, 5.0})
	}
	refBoot(t, ss, "k", 4, []float64{760, 765, 770, 768}, []float64{8.6, 8.4, 8.9, 8.5}) // a slow stretch there
	boots, err := store.LoadBoots(fastDir, slowDir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Guard(boots, DefaultSlowFactor).Stats()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Levels) != 2 || st.SetAside != 4 || st.WholeBoot != 1 {
		t.Errorf("two hosts: %+v; want 2 levels and only the slow node's slow boot set aside", st)
	}
	if s := st.String(); !strings.Contains(s, "over 2 cells") {
		t.Errorf("note %q does not say there were two levels", s)
	}
}
