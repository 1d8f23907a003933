package show

import (
	"bytes"
	"fmt"
	"kharness/results/internal/fakerun"
	"kharness/results/stats"
	"kharness/results/store"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

func TestSeedAndFidelity(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	const ctx = "BenchmarkCtxSwitch/procs=2/ws=0KiB 700 %s ns/op 7000 raw-ns/op 140000 ctxsw/s 250 intr/s 10 usr%% 90 sys%% 0 idl%%\n"
	for boot, sw := range []string{"4000", "4200", "4100"} {
		bench := "goos: linux\n" +
			strings.ReplaceAll(ctx, "%s", sw) + strings.ReplaceAll(strings.ReplaceAll(ctx, "%s", sw), "%%", "%") +
			"BenchmarkNullSyscall/call=getppid/impl=go 1000 510 ns/op\n" +
			"BenchmarkNullSyscall/call=getppid/impl=c 1000 500 ns/op\n"
		bench = strings.ReplaceAll(bench, "%%", "%")
		fakerun.Commit(t, s, "6.1-cloud", boot, bench)
	}
	rows, err := stats.Seed(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("rows %+v", rows)
	}
	r := rows[0]
	if r.Boots != 3 || r.CtxPerSec != 140000 || r.IntrPerSec != 250 || r.Sys != 90 ||
		r.HopMicros < 6.99 || r.HopMicros > 7.01 || r.SwitchMicros < 4.09 || r.SwitchMicros > 4.11 {
		t.Errorf("row %+v", r)
	}
	var out bytes.Buffer
	if err := WriteSeed(&out, rows, "tcg"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"548K", "1.8 µs", "140K", "7.0 µs", "4.1 µs", "EMULATED", "McVoy"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("seed table lacks %q:\n%s", want, out.String())
		}
	}
	fr, err := stats.Fidelity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(fr) != 1 || fr[0].Case != "NullSyscall/call=getppid" || fr[0].Ratio() < 1.019 || fr[0].Ratio() > 1.021 {
		t.Errorf("fidelity rows %+v", fr)
	}
	out.Reset()
	if err := WriteFidelity(&out, fr); err != nil || !strings.Contains(out.String(), "1.020") {
		t.Errorf("fidelity table (%v):\n%s", err, out.String())
	}
	if _, err := stats.Seed(t.TempDir()); err == nil {
		t.Error("seed of an empty run succeeded")
	}
}

// The 2002 table: per kernel and config, what __kernel_vsyscall executed,
// INT $0x80 against it over boots (called at 5 boots a side), and the
// exact counts from every boot.
func TestSyscall2002(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for boot := range 5 {
		bench := fmt.Sprintf("goos: linux\ncpu-vendor: GenuineIntel\nvsyscall32: sysenter\n"+
			"BenchmarkNullSyscall/call=getppid 1000 %d ns/op 325 insns/op\n"+
			"BenchmarkNullSyscall32/call=getppid/entry=int80 1000 %d ns/op 364 insns/op\n"+
			"BenchmarkNullSyscall32/call=getppid/entry=vsyscall 1000 %d ns/op 358 insns/op\n", 560+boot, 1300+boot, 650+boot)
		fakerun.Commit(t, s, "6.1-cloud", boot, bench)
	}
	s.Close()
	rows, err := stats.Syscall2002(0.05, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("rows %+v", rows)
	}
	r := rows[0]
	if r.Vendor != "GenuineIntel" || r.Vsyscall != "sysenter" || r.Boots != 5 || r.CountedBoots != 5 ||
		math.Abs(r.Int80NS-1302) > 1e-6 || math.Abs(r.FastNS-652) > 1e-6 || math.Abs(r.Ratio-1302.0/652) > 1e-6 || r.Call != "int80 slower" || !(r.P < 0.05) ||
		r.Int80Insns != 364 || r.FastInsns != 358 || math.Abs(r.Syscall64NS-562) > 1e-6 {
		t.Errorf("row %+v", r)
	}
	var out bytes.Buffer
	if err := WriteSyscall2002(&out, rows, "tcg"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sysenter", "×2.00", "int80 slower", "1761 cyc", "×2.75", "QEMU's emulation"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := stats.Syscall2002(0.05, t.TempDir()); err == nil {
		t.Error("a directory with no 32-bit boots gave no error")
	}
}
