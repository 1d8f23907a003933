package stream

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// sealed is body as a complete stream: the header, body, and an end
// marker with the count of its Benchmark lines and its sha256.
func sealed(body string) []byte {
	body = StreamHeader + "\n" + body
	n := strings.Count("\n"+body, "\nBenchmark")
	return []byte(body + fmt.Sprintf("# kharness-end count=%d sha256=%x\n", n, sha256.Sum256([]byte(body))))
}

// TestParseRejectsGuestCounts: only the host writes exact counts (from the
// plugin's file) and says where a benchmark has none; a guest line with
// insns/op or kinsns/op, or a guest's insns-none comment, fails the boot as
// garbled, as a guest's accel: key does.
func TestParseRejectsGuestCounts(t *testing.T) {
	for _, body := range []string{
		"BenchmarkNullSyscall/call=getppid 200 325 insns/op\n",
		"BenchmarkNullSyscall/call=getppid 200 512 ns/op 321 kinsns/op\n",
		"# insns-none BenchmarkNullSyscall/call=getppid: no reason\n",
	} {
		s, err := Parse(bytes.NewReader(sealed(body)), 0)
		if !errors.Is(err, ErrGarbled) || !strings.Contains(err.Error(), "host") {
			t.Errorf("Parse(%q) = %v, %v; want garbled, saying only the host writes it", body, s, err)
		}
	}
	if _, err := Parse(bytes.NewReader(sealed("BenchmarkNullSyscall/call=getppid 200 512 ns/op\n")), 0); err != nil {
		t.Errorf("a plain line: %v", err)
	}
}

// TestInsnsResultsOneCountPerBenchmark: two count phases of one benchmark
// in a boot are an error, not two counts compare would take the median of.
func TestInsnsResultsOneCountPerBenchmark(t *testing.T) {
	c := "insns BenchmarkNullSyscall/call=getppid iters=200 ops-per-iter=1 reps=2"
	s := insnsStream(c, c)
	one := "B\nS 65002 64200\nS 130002 128400\nS 65002 64200\nS 130002 128400\n"
	got, err := InsnsResults(s, []byte("insncount 1\n"+one+one))
	if err == nil || !strings.Contains(err.Error(), "one count per benchmark") {
		t.Fatalf("InsnsResults = %+v, %v; want an error saying one count per benchmark", got, err)
	}
}
