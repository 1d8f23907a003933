package results

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"kharness/results/store"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedBoot commits one ok boot whose boot.bench is bench.
func seedBoot(t *testing.T, s *store.Store, kernel string, boot int, bench string) {
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
		seedBoot(t, s, "6.1-cloud", boot, bench)
	}
	rows, err := Seed(dir)
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
	fr, err := Fidelity(dir)
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
	if _, err := Seed(t.TempDir()); err == nil {
		t.Error("seed of an empty run succeeded")
	}
}

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
