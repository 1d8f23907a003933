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
	for _, fc := range fidelityCases {
		for _, impl := range []string{ImplGo, ImplC} {
			if n := strings.Count(out, "\nBenchmark"+fc.bench+impl+" "); n != 2 {
				t.Errorf("%d lines of %s%s", n, fc.bench, impl)
			}
		}
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
