package vm

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kharness/results/stream"
	"kharness/results/wire"
)

// TestInsnsMethodSaysTheRule: boot.bench's insns-method key says how the
// counts were made: the most common count of each length, and only where
// the stretches agree on one answer; not the minimum, which the code does
// not take.
func TestInsnsMethodSaysTheRule(t *testing.T) {
	for _, want := range []string{"most common", "insncount/"} {
		if !strings.Contains(InsnsMethod, want) {
			t.Errorf("insns-method %q does not say %q", InsnsMethod, want)
		}
	}
	if strings.Contains(InsnsMethod, "min of") {
		t.Errorf("insns-method %q says the minimum, which the code does not take", InsnsMethod)
	}
}

// TestAddInsnsSaysWhyNoCount: a benchmark whose stretches give no one
// answer gets no count line in the boot's stream but an insns-none
// comment, which boot.bench keeps; the benchmark that has one is counted.
func TestAddInsnsSaysWhyNoCount(t *testing.T) {
	s := &stream.Stream{Comments: []string{
		"insns BenchmarkNullSyscall/call=getppid iters=200 ops-per-iter=1 reps=2",
		"insns BenchmarkRead/file=dev-zero/bytes=1 iters=100 ops-per-iter=1 reps=2",
	}}
	raw := "insncount 2\nB " + wire.InsnsTag("NullSyscall/call=getppid") + "\nS 65002 64200\nS 130002 128400\nS 65002 64200\nS 130002 128400\n" +
		"B " + wire.InsnsTag("Read/file=dev-zero/bytes=1") + "\nS 65700 65300\nS 131400 130600\nS 65900 65500\nS 131300 130500\n"
	path := filepath.Join(t.TempDir(), stream.InsnsFile)
	if err := os.WriteFile(path, []byte(raw), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := AddInsns(s, path); err != nil {
		t.Fatal(err)
	}
	if len(s.Results) != 1 || s.Results[0].Name != "NullSyscall/call=getppid" {
		t.Errorf("results %+v, want the null syscall's count alone", s.Results)
	}
	var b bytes.Buffer
	if err := s.WriteBench(&b, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\n# insns-none BenchmarkRead/file=dev-zero/bytes=1: no count recurs") {
		t.Errorf("boot.bench does not say why Read has no count:\n%s", b.String())
	}
}
