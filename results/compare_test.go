package results

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/compare/*.golden")

// fakeBoot commits one boot of kernel and config. An ok boot (reason "")
// reports NullSyscall with three samples around median ns and, if pipe is
// not 0, Pipe around pipe ns; others fail with the reason.
func fakeBoot(t *testing.T, s *Store, kernel, config string, boot int, accel string, ns, pipe float64, reason string) {
	t.Helper()
	cell := CellName(kernel, config)
	a, err := s.NewAttempt(cell, boot, 1)
	if err != nil {
		t.Fatal(err)
	}
	rec := &BootRecord{Kernel: KernelInfo{Label: kernel}, Config: BootConfig{Name: config},
		Accel: accel, QEMUVersion: "8.2.2", GuestCPU: "max", HostCPU: "Fake CPU @ 2GHz", Jobs: 2, Status: StatusOK}
	if reason != "" {
		rec.Status, rec.Reason = StatusPanic, reason
	} else {
		var b bytes.Buffer
		fmt.Fprintf(&b, "goos: linux\nkernel: %s\n", kernel)
		for _, d := range []float64{-1, 0, 2} {
			fmt.Fprintf(&b, "BenchmarkNullSyscall-2\t1000000\t%g ns/op\n", ns+d)
			if pipe != 0 {
				fmt.Fprintf(&b, "BenchmarkPipe-2\t1000\t%g ns/op\t8 B/op\n", pipe+d*10)
			}
		}
		sum := sha256.Sum256(b.Bytes())
		rec.BenchSHA256 = hex.EncodeToString(sum[:])
		if err := os.WriteFile(a.Path(BenchFile), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Commit(rec); err != nil {
		t.Fatal(err)
	}
}

// fakeRuns makes two run directories: one with kernels fast and slow under
// configs default and quiet, one with a kernel that always panics.
func fakeRuns(t *testing.T) []string {
	t.Helper()
	dirs := []string{filepath.Join(t.TempDir(), "run1"), filepath.Join(t.TempDir(), "run2")}
	s1, err := Open(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	err = s1.WriteRun(&RunRecord{
		Kernels: []KernelInfo{{Label: "fast"}, {Label: "slow"}},
		Configs: []BootConfig{{Name: "default"}, {Name: "quiet", Cmdline: "quiet"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, ns := range []float64{462, 455, 460, 465, 458} {
		fakeBoot(t, s1, "fast", "default", i, "kvm", ns, 2000+ns, "")
	}
	for i, ns := range []float64{10100, 10300, 10200, 10250, 10150} {
		fakeBoot(t, s1, "slow", "default", i, "kvm", ns, 0, "")
	}
	for i, ns := range []float64{450, 452, 455, 457, 459, 460} {
		fakeBoot(t, s1, "fast", "quiet", i, "kvm", ns, 0, "")
	}
	for i, ns := range []float64{9000, 9100, 9200, 9300} {
		fakeBoot(t, s1, "slow", "quiet", i, "kvm", ns, 0, "")
	}
	fakeBoot(t, s1, "slow", "quiet", 4, "", 0, 0, "Oops: general protection fault")

	s2, err := Open(dirs[1])
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		fakeBoot(t, s2, "broken", "default", i, "", 0, 0, "Kernel panic - not syncing: VFS: Unable to mount root fs")
	}
	return dirs
}

func TestCompare(t *testing.T) {
	dirs := fakeRuns(t)
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
	if fast.Boots != 5 || !near(fast.Center, 460e-9) || fast.Lo >= fast.Center || fast.Hi <= fast.Center || math.IsInf(fast.Lo, 0) || len(fast.ciNotes) != 1 {
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

func TestCompareGolden(t *testing.T) {
	dirs := fakeRuns(t)
	for _, col := range []string{"kernel", "config"} {
		t.Run(col, func(t *testing.T) {
			tab, err := Compare(dirs, CompareOptions{Column: col})
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := tab.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "compare", col+".golden")
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading golden file (go test -run Compare -update writes it): %v", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("WriteText differs from %s (rerun with -update if the change is right):\n%s", golden, b.String())
			}
		})
	}
}

func TestCompareAccelMismatch(t *testing.T) {
	dirs := fakeRuns(t)
	tcg := filepath.Join(t.TempDir(), "tcg")
	s, err := Open(tcg)
	if err != nil {
		t.Fatal(err)
	}
	fakeBoot(t, s, "fast", "default", 0, "tcg", 20000, 0, "")
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
	dirs := fakeRuns(t)
	if _, err := Compare(dirs, CompareOptions{Column: "boot"}); err == nil {
		t.Error("Compare with column axis boot succeeded")
	}
	if _, err := Compare([]string{t.TempDir()}, CompareOptions{}); err == nil {
		t.Error("Compare of an empty run succeeded")
	}
	if _, err := Compare([]string{filepath.Join(t.TempDir(), "none")}, CompareOptions{}); err == nil {
		t.Error("Compare of a missing run succeeded")
	}
	// A boot.bench that is not what boot.json says it was.
	bench := filepath.Join(dirs[0], "cells", "fast--default", "boot-00-a1", BenchFile)
	if err := os.WriteFile(bench, []byte("BenchmarkNullSyscall 1 1 ns/op\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Compare(dirs, CompareOptions{})
	if err == nil || !strings.Contains(err.Error(), bench) {
		t.Errorf("Compare with a corrupt boot.bench: %v, want an error naming %s", err, bench)
	}
}

func TestCompareFormatValue(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		unit string
		want string
	}{
		{462.3e-9, "sec/op", "462.3ns"},
		{10.2e-6, "sec/op", "10.20µs"},
		{9.99996e-7, "sec/op", "1.000µs"},
		{0.5e-9, "sec/op", "0.5000ns"},
		{1.5, "sec/op", "1.500s"},
		{12345, "sec/op", "12345s"},
		{8, "B/op", "8.000"},
		{2048, "B/op", "2.000Ki"},
	} {
		if got := formatValue(tc.v, tc.unit); got != tc.want {
			t.Errorf("formatValue(%g, %s) = %q, want %q", tc.v, tc.unit, got, tc.want)
		}
	}
}
