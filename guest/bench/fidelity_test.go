//go:build linux

package bench

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kharness/guest"
)

// buildKref compiles fidelity/kref.c as the image build does.
func buildKref(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	out := filepath.Join(t.TempDir(), "kref")
	if b, err := exec.Command("gcc", "-O2", "-static", "-o", out, "../../fidelity/kref.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

func TestFidelityHost(t *testing.T) {
	kref := buildKref(t)
	p := guest.Params{Run: "impl=", Benchtime: 5 * time.Millisecond, Count: 2, Mode: guest.ModeBench, Kref: kref}
	var buf bytes.Buffer
	if err := guest.WriteStream(context.Background(), &buf, Suite(), p, guest.SystemConfig(Suite(), p), io.Discard); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// Each case's two samples per implementation: a result line, or, where
	// the host's noise made a sample's timed overhead exceed its total, the
	// failed-sample line the guest writes instead of a wrong number.
	results := 0
	cases := 0
	for _, b := range Benchmarks() {
		if b.Kref == "" {
			continue
		}
		cases++
		for _, impl := range []string{guest.ImplGo, guest.ImplC} {
			n := strings.Count(out, "\nBenchmark"+b.Name+impl+" ")
			failed := strings.Count(out, "\n# failed-sample Benchmark"+b.Name+impl+": ")
			if n+failed != 2 {
				t.Errorf("%d lines and %d failed samples of %s%s, want 2 in all", n, failed, b.Name, impl)
			}
			results += n
		}
	}
	if cases != 5 {
		t.Errorf("%d benchmarks with a C reference case, want 5 (null, read, write, pipe, ctx)", cases)
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
	p := guest.Params{Run: "getppid/impl=", Benchtime: 5 * time.Millisecond, Count: 1, Mode: guest.ModeBench, Fidelity: true, Kref: "/nonexistent/kref"}
	var buf bytes.Buffer
	if err := guest.WriteStream(context.Background(), &buf, Suite(), p, guest.SystemConfig(Suite(), p), io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "# skip BenchmarkNullSyscall/call=getppid/impl=go: no C reference") {
		t.Errorf("no skip line:\n%s", buf.String())
	}
}
