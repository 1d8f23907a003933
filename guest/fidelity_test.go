//go:build linux

package guest

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildKref compiles fidelity/kref.c as the image build does.
func buildKref(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	out := filepath.Join(t.TempDir(), "kref")
	if b, err := exec.Command("gcc", "-O2", "-static", "-o", out, "../fidelity/kref.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

func TestFidelityHost(t *testing.T) {
	kref := buildKref(t)
	p := Params{Run: "impl=", Benchtime: 5 * time.Millisecond, Count: 2, Mode: ModeBench, Kref: kref}
	var buf bytes.Buffer
	if err := WriteStream(context.Background(), &buf, p, SystemConfig(p), io.Discard); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// Each case's two samples per implementation: a result line, or, where
	// the host's noise made a sample's timed overhead exceed its total, the
	// failed-sample line the guest writes instead of a wrong number.
	results := 0
	for _, fc := range fidelityCases {
		for _, impl := range []string{ImplGo, ImplC} {
			n := strings.Count(out, "\nBenchmark"+fc.bench+impl+" ")
			failed := strings.Count(out, "\n# failed-sample Benchmark"+fc.bench+impl+": ")
			if n+failed != 2 {
				t.Errorf("%d lines and %d failed samples of %s%s, want 2 in all", n, failed, fc.bench, impl)
			}
			results += n
		}
	}
	if results == 0 {
		t.Error("no sample of any case gave a result")
	}
	if strings.Contains(out, "\nBenchmarkNullSyscall/call=getppid ") {
		t.Error("the suite ran: run=impl= should select only the fidelity check")
	}
	t.Logf("\n%s", out)
}

func TestFidelityNoKref(t *testing.T) {
	p := Params{Run: "getppid/impl=", Benchtime: 5 * time.Millisecond, Count: 1, Mode: ModeBench, Fidelity: true, Kref: "/nonexistent/kref"}
	var buf bytes.Buffer
	if err := WriteStream(context.Background(), &buf, p, SystemConfig(p), io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "# skip BenchmarkNullSyscall/call=getppid/impl=go: no C reference") {
		t.Errorf("no skip line:\n%s", buf.String())
	}
}

func TestParseFidelity(t *testing.T) {
	p, _, err := ParseCmdline("kharness.fidelity=1", DefaultParams())
	if err != nil || !p.Fidelity || p.Kref != KrefPath {
		t.Errorf("fidelity=1: %+v, %v", p, err)
	}
	if _, _, err := ParseCmdline("kharness.fidelity=maybe", DefaultParams()); err == nil {
		t.Error("fidelity=maybe accepted")
	}
	if fidelityOn(Params{Run: "."}) || !fidelityOn(Params{Run: "impl="}) || !fidelityOn(Params{Run: ".", Fidelity: true}) {
		t.Error("fidelityOn")
	}
}
