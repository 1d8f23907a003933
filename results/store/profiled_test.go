package store

import (
	"os"
	"path/filepath"
	"testing"
)

// TestReadBenchProfiled: a boot the profiling plugin slowed keeps its
// exact counts and loses its times, its host reference and its failed
// samples; the same file read as an unprofiled boot keeps them all.
func TestReadBenchProfiled(t *testing.T) {
	dir := t.TempDir()
	data := "goos: linux\n" +
		"BenchmarkNullSyscall/call=getppid 1000 1500 ns/op 6 ref-ns/op\n" +
		"BenchmarkNullSyscall/call=getppid 1 325 insns/op 321 kinsns/op\n" +
		"# failed-sample BenchmarkPipeRoundTrip/procs=2: the overhead is not below the total\n"
	if err := os.WriteFile(filepath.Join(dir, BenchFile), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	plain, err := ReadBench(&BootRecord{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.Lines) != 2 || plain.Lines[0].Ref == 0 || len(plain.Failed) != 1 || plain.Profiled {
		t.Fatalf("unprofiled: %+v, want 2 lines, the first with its reference, 1 failed sample", plain)
	}
	prof, err := ReadBench(&BootRecord{Dir: dir, Profiled: true})
	if err != nil {
		t.Fatal(err)
	}
	if !prof.Profiled || len(prof.Failed) != 0 || len(prof.Lines) != 1 {
		t.Fatalf("profiled: %+v, want only the counts' line", prof)
	}
	l := prof.Lines[0]
	if len(l.Values) != 2 || l.Values[0].Unit != "insns/op" || l.Values[0].Value != 325 || l.Values[1].Value != 321 || l.Ref != 0 {
		t.Errorf("profiled line %+v, want 325 insns/op and 321 kinsns/op, no reference", l)
	}
}
