package store

import (
	"strings"
	"testing"

	"kharness/results/stream"
)

// The reference's unit as the host reads it is the guest's, tidied.
func TestRefUnitTidied(t *testing.T) {
	if refUnit != "ref-sec/op" {
		t.Errorf("refUnit %q, want ref-sec/op (the guest's ref-ns/op as benchfmt tidies it)", refUnit)
	}
}

// benchText is a boot.bench as the host writes it, with the given
// Benchmark lines.
func benchText(lines ...string) []byte {
	return []byte("kernel: 6.1-cloud\naccel: tcg\n\n# insns BenchmarkNullSyscall/call=getppid iters=200 ops-per-iter=1 reps=30\n" + strings.Join(lines, "\n") + "\n")
}

// exactValues is the exact counts b holds for benchmark name.
func exactValues(b *Bench, name string) []float64 {
	var out []float64
	for _, l := range b.Lines {
		for _, v := range l.Values {
			if l.Name == name && stream.ExactUnit(v.Unit) {
				out = append(out, v.Value)
			}
		}
	}
	return out
}

// TestReadBenchOneCountPerBenchmark: a boot.bench with a second count for
// a benchmark (an edited file) gives no count for it, with a warning,
// rather than two counts whose median no boot measured; its times stay.
func TestReadBenchOneCountPerBenchmark(t *testing.T) {
	b, err := ParseBench(benchText(
		"BenchmarkNullSyscall/call=getppid 1000 512 ns/op",
		"BenchmarkNullSyscall/call=getppid 200 325 insns/op 321 kinsns/op",
		"BenchmarkNullSyscall/call=getppid 200 654 insns/op 650 kinsns/op",
		"BenchmarkRead/file=dev-zero/bytes=1 200 657 insns/op 653 kinsns/op",
	), "boot.bench")
	if err != nil {
		t.Fatal(err)
	}
	if got := exactValues(b, "NullSyscall/call=getppid"); len(got) != 0 {
		t.Errorf("counts %v kept from a file with two for one benchmark", got)
	}
	if got := exactValues(b, "Read/file=dev-zero/bytes=1"); len(got) != 2 {
		t.Errorf("the other benchmark's counts: %v, want its two", got)
	}
	if len(b.Lines) == 0 || b.Lines[0].Values[0].Unit != "sec/op" {
		t.Errorf("the time line is gone: %+v", b.Lines)
	}
	if len(b.Warnings) != 1 || !strings.Contains(b.Warnings[0], "one count per benchmark") {
		t.Errorf("warnings %q, want one saying one count per benchmark", b.Warnings)
	}
}

// TestReadBenchKernelAboveTotal: a count whose kernel share exceeds its
// total (as issue 26's boot recorded, 56.52 insns/op with 104.4 in the
// kernel) is refused when read, with a warning; so is a kernel share
// without its total.
func TestReadBenchKernelAboveTotal(t *testing.T) {
	b, err := ParseBench(benchText(
		"BenchmarkNullSyscall32/call=getppid/entry=int80 50 56.52 insns/op 104.4 kinsns/op",
		"BenchmarkNullSyscall/call=getppid 200 321 kinsns/op",
		"BenchmarkRead/file=dev-zero/bytes=1 200 657 insns/op 653 kinsns/op",
	), "boot.bench")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"NullSyscall32/call=getppid/entry=int80", "NullSyscall/call=getppid"} {
		if got := exactValues(b, name); len(got) != 0 {
			t.Errorf("%s: counts %v kept", name, got)
		}
	}
	if got := exactValues(b, "Read/file=dev-zero/bytes=1"); len(got) != 2 {
		t.Errorf("Read's counts: %v, want its two", got)
	}
	if len(b.Warnings) != 2 || !strings.Contains(b.Warnings[0], "kernel") || !strings.Contains(b.Warnings[1], "kernel") {
		t.Errorf("warnings %q, want two, each about the kernel share", b.Warnings)
	}
}
