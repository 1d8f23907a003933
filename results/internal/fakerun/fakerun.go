// Package fakerun makes run directories for the tests of the statistics
// and the presentation: committed boots with boot.bench files written to
// order, through the real store.
package fakerun

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"kharness/results/store"
	"os"
	"path/filepath"
	"testing"
)

// Boot commits one boot of kernel and config. An ok boot (reason "")
// reports NullSyscall with three samples around median ns and, if pipe is
// not 0, Pipe around pipe ns; others fail with the reason.
func Boot(t testing.TB, s *store.Store, kernel, config string, boot int, accel string, ns, pipe float64, reason string) {
	t.Helper()
	cell := store.CellName(kernel, config)
	a, err := s.NewAttempt(cell, boot, 1)
	if err != nil {
		t.Fatal(err)
	}
	rec := &store.BootRecord{Kernel: store.KernelInfo{Label: kernel}, Config: store.BootConfig{Name: config},
		Accel: accel, QEMUVersion: "8.2.2", GuestCPU: "max", HostCPU: "Fake CPU @ 2GHz", Jobs: 2, Status: store.StatusOK}
	if reason != "" {
		rec.Status, rec.Reason = store.StatusPanic, reason
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
		if err := os.WriteFile(a.Path(store.BenchFile), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Commit(rec); err != nil {
		t.Fatal(err)
	}
}

// Runs makes two run directories: one with kernels fast and slow under
// configs default and quiet, one with a kernel that always panics.
func Runs(t testing.TB) []string {
	t.Helper()
	dirs := []string{filepath.Join(t.TempDir(), "run1"), filepath.Join(t.TempDir(), "run2")}
	s1, err := store.Open(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	err = s1.WriteRun(&store.RunRecord{
		Kernels: []store.KernelInfo{{Label: "fast"}, {Label: "slow"}},
		Configs: []store.BootConfig{{Name: "default"}, {Name: "quiet", Cmdline: "quiet"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, ns := range []float64{462, 455, 460, 465, 458} {
		Boot(t, s1, "fast", "default", i, "kvm", ns, 2000+ns, "")
	}
	for i, ns := range []float64{10100, 10300, 10200, 10250, 10150} {
		Boot(t, s1, "slow", "default", i, "kvm", ns, 0, "")
	}
	for i, ns := range []float64{450, 452, 455, 457, 459, 460} {
		Boot(t, s1, "fast", "quiet", i, "kvm", ns, 0, "")
	}
	for i, ns := range []float64{9000, 9100, 9200, 9300} {
		Boot(t, s1, "slow", "quiet", i, "kvm", ns, 0, "")
	}
	Boot(t, s1, "slow", "quiet", 4, "", 0, 0, "Oops: general protection fault")

	s2, err := store.Open(dirs[1])
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		Boot(t, s2, "broken", "default", i, "", 0, 0, "Kernel panic - not syncing: VFS: Unable to mount root fs")
	}
	return dirs
}

// BenchRun makes a run of kernels "base" and "new" under config
// "default", one boot a value, each boot reporting BenchmarkX-2 once
// with that value in unit.
func BenchRun(t testing.TB, unit string, base, new []float64) []string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteRun(&store.RunRecord{Kernels: []store.KernelInfo{{Label: "base"}, {Label: "new"}}, Configs: []store.BootConfig{{Name: "default"}}}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		label string
		vals  []float64
	}{{"base", base}, {"new", new}} {
		for i, v := range k.vals {
			a, err := s.NewAttempt(store.CellName(k.label, "default"), i, 1)
			if err != nil {
				t.Fatal(err)
			}
			bench := fmt.Sprintf("BenchmarkX-2\t1\t%g %s\n", v, unit)
			if err := os.WriteFile(a.Path(store.BenchFile), []byte(bench), 0o644); err != nil {
				t.Fatal(err)
			}
			rec := &store.BootRecord{Kernel: store.KernelInfo{Label: k.label}, Config: store.BootConfig{Name: "default"},
				Accel: "kvm", QEMUVersion: "8.2.2", GuestCPU: "max", Status: store.StatusOK}
			if err := a.Commit(rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	return []string{dir}
}

// Commit commits one ok boot whose boot.bench is bench.
func Commit(t testing.TB, s *store.Store, kernel string, boot int, bench string) {
	t.Helper()
	a, err := s.NewAttempt(store.CellName(kernel, "default"), boot, 1)
	if err != nil {
		t.Fatal(err)
	}
	rec := &store.BootRecord{Kernel: store.KernelInfo{Label: kernel}, Config: store.BootConfig{Name: "default"}, Accel: "tcg", Status: store.StatusOK}
	sum := sha256.Sum256([]byte(bench))
	rec.BenchSHA256 = hex.EncodeToString(sum[:])
	if err := os.WriteFile(a.Path(store.BenchFile), []byte(bench), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(rec); err != nil {
		t.Fatal(err)
	}
}

// BenchPath returns the path of boot.bench of boot i (0-9) of kernel
// "new" under config "default" in the run dir (as BenchRun makes it).
func BenchPath(dir string, i int) string {
	return filepath.Join(dir, store.CellsDir, store.CellName("new", "default"), fmt.Sprintf("boot-%02d-a1", i), store.BenchFile)
}
