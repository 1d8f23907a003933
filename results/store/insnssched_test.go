package store

import (
	"os"
	"path/filepath"
	"testing"
)

// TestReadBenchInsnsSched: the header line that says how a boot's
// switching benchmarks were counted reaches the table; a boot without it
// (made before kharness recorded it) reads "".
func TestReadBenchInsnsSched(t *testing.T) {
	for _, tc := range []struct{ header, want string }{
		{"insns-sched: fifo: the count phase runs under SCHED_FIFO\n", "fifo: the count phase runs under SCHED_FIFO"},
		{"", ""},
	} {
		dir := t.TempDir()
		data := "goos: linux\n" + tc.header + "BenchmarkPipeRoundTrip/procs=2 1 11437 insns/op\n"
		if err := os.WriteFile(filepath.Join(dir, BenchFile), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := ReadBench(&BootRecord{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if b.InsnsSched != tc.want || len(b.Lines) != 1 {
			t.Errorf("header %q: InsnsSched %q, %d lines; want %q, 1 line", tc.header, b.InsnsSched, len(b.Lines), tc.want)
		}
	}
}
