package stream

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"kharness/results/wire"
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
	one := opens("NullSyscall/call=getppid") + "S 65002 64200\nS 130002 128400\nS 65002 64200\nS 130002 128400\n"
	got, _, err := InsnsResults(s, []byte("insncount 2\n"+one+one))
	if err == nil || !strings.Contains(err.Error(), "one count per benchmark") {
		t.Fatalf("InsnsResults = %+v, %v; want an error saying one count per benchmark", got, err)
	}
}

// row1Raw is the plugin file of the count phase issue 26 found in a real
// boot (6.1 cloud, AMD vendor, mitigations=off, NullSyscall32 through int
// $0x80, 50 calls a short stretch): the most common short count (33590,
// 6 times) and the most common long one (36416, 4 times) come from
// different paths, and gave 56.52 instructions a call, 104.4 of them in
// the kernel; the clean pair 18216 / 36416 (364 a call) recurs 4 times.
func row1Raw() string {
	var b strings.Builder
	b.WriteString("insncount 2\n" + opens("NullSyscall32/call=getppid/entry=int80"))
	pair := func(s, sk, l, lk int) { fmt.Fprintf(&b, "S %d %d\nS %d %d\n", s, sk, l, lk) }
	for range 4 {
		pair(18216, 18000, 36416, 36000)
	}
	for i := range 6 {
		pair(33590, 30780, 51000+13*i, 50000+13*i)
	}
	for i := range 20 {
		pair(19216+37*i, 19000+37*i, 38416+41*i, 38000+41*i)
	}
	return b.String()
}

const row1Comment = "insns BenchmarkNullSyscall32/call=getppid/entry=int80 iters=50 ops-per-iter=1 reps=30"

// TestInsnsResultsNoConsistentAnswer: a count phase whose most common
// short and long counts are not the most common pair's gives no count
// (not 56.52 with 104.4 in the kernel), and says why.
func TestInsnsResultsNoConsistentAnswer(t *testing.T) {
	got, none, err := InsnsResults(insnsStream(row1Comment), []byte(row1Raw()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("counts %+v from stretches that disagree", got)
	}
	if len(none) != 1 || none[0].Name != "NullSyscall32/call=getppid/entry=int80" || !strings.Contains(none[0].Reason, "different paths") {
		t.Fatalf("no-count records %+v, want one for the benchmark, saying the counts come from different paths", none)
	}
	c := none[0].Comment()
	if !strings.HasPrefix(c, "insns-none BenchmarkNullSyscall32/call=getppid/entry=int80: ") || validCommentText(c) != nil {
		t.Errorf("comment %q: want a valid insns-none comment", c)
	}
}

// TestInsnsResultsKernelAboveTotal: an answer the stretches agree on whose
// kernel share exceeds its total is no count.
func TestInsnsResultsKernelAboveTotal(t *testing.T) {
	raw := "insncount 2\n" + opens("X") + "S 100 50\nS 150 110\nS 100 50\nS 150 110\n"
	got, none, err := InsnsResults(insnsStream("insns BenchmarkX iters=1 ops-per-iter=1 reps=2"), []byte(raw))
	if err != nil || len(got) != 0 || len(none) != 1 || !strings.Contains(none[0].Reason, "kernel") {
		t.Errorf("InsnsResults = %+v, %+v, %v; want no count, saying the kernel share exceeds the total", got, none, err)
	}
}

// opens is the plugin's line that opens benchmark name's count phase: "B"
// and the tag the guest sent it.
func opens(name string) string { return "B " + wire.InsnsTag(name) + "\n" }

// TestInsnsResultsPairsByTag: the plugin's groups carry the tag of the
// benchmark the guest opened, and a group whose tag is not its comment's
// benchmark's fails the boot, naming both, rather than giving one
// benchmark's counts to another (issue 26: the comments and the groups in
// a different order, with equal repetition counts, swapped the counts).
func TestInsnsResultsPairsByTag(t *testing.T) {
	s := insnsStream(
		"insns BenchmarkNullSyscall/call=getppid iters=200 ops-per-iter=1 reps=2",
		"insns BenchmarkRead/file=dev-zero/bytes=1 iters=100 ops-per-iter=1 reps=2",
	)
	null := "S 65002 64200\nS 130002 128400\nS 65002 64200\nS 130002 128400\n"
	read := "S 65702 65300\nS 131402 130600\nS 65702 65300\nS 131402 130600\n"
	good := "insncount 2\n" + opens("NullSyscall/call=getppid") + null + opens("Read/file=dev-zero/bytes=1") + read
	rs, _, err := InsnsResults(s, []byte(good))
	if err != nil || len(rs) != 2 || rs[0].Values[0].Value != 325 || rs[1].Values[0].Value != 657 {
		t.Fatalf("in order: %+v, %v; want 325 and 657", rs, err)
	}
	swapped := "insncount 2\n" + opens("Read/file=dev-zero/bytes=1") + null + opens("NullSyscall/call=getppid") + read
	rs, _, err = InsnsResults(s, []byte(swapped))
	if err == nil || !strings.Contains(err.Error(), wire.InsnsTag("Read/file=dev-zero/bytes=1")) || !strings.Contains(err.Error(), "BenchmarkNullSyscall/call=getppid") {
		t.Errorf("swapped: %+v, %v; want an error naming the tag and the benchmark", rs, err)
	}
	for _, raw := range []string{
		"insncount 2\nB\n" + null + "B\n" + read, // no tags
		"insncount 1\nB\n" + null + "B\n" + read, // an older plugin's file
		"insncount 2\nB 89389D46\n" + null + opens("Read/file=dev-zero/bytes=1") + read,
	} {
		if rs, _, err := InsnsResults(s, []byte(raw)); err == nil {
			t.Errorf("%q: %+v, want an error", raw, rs)
		}
	}
}

// TestInsnsResultsRealBoot: a real boot's plugin file (6.1.0-57 cloud,
// AMD vendor, mitigations=off, 2026-12-07; the tags added as the plugin
// now writes them), in which the most common counts gave two wrong
// answers: NullSyscall32 through the vDSO's SYSCALL 426.97 (its short and
// long stretches most often had ~77 more instructions a call; the pair
// that recurred most says 349, as every other boot did), and the pipe
// round trip 10007 (two short counts, one of each path, recurred 13
// times each; the smaller was taken with the other path's long count,
// while its pairs say 9993 or 9979). Both are no count now; the other
// five keep the counts every boot gave.
func TestInsnsResultsRealBoot(t *testing.T) {
	comments, err := os.ReadFile("testdata/insns/6.1-amd-mixed.comments")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/insns/6.1-amd-mixed.raw")
	if err != nil {
		t.Fatal(err)
	}
	s := insnsStream(strings.Split(strings.TrimSpace(string(comments)), "\n")...)
	rs, none, err := InsnsResults(s, raw)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]float64{}
	for _, r := range rs {
		got[r.Name] = [2]float64{r.Values[0].Value, r.Values[1].Value}
	}
	want := map[string][2]float64{
		"NullSyscall/call=getppid":                 {325, 321},
		"Read/file=dev-zero/bytes=1":               {651, 647},
		"NullSyscall32/call=getppid/entry=int80":   {364, 360},
		"NullSyscall32/call=getppid/entry=syscall": {349, 336},
		"CtxSwitch/procs=2/ws=0KiB":                {4989.5, 4976},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counts %v, want %v", got, want)
	}
	var names []string
	for _, n := range none {
		names = append(names, n.Name)
	}
	if fmt.Sprint(names) != "[NullSyscall32/call=getppid/entry=vsyscall PipeRoundTrip/procs=2]" {
		t.Errorf("no count for %v (%+v), want the vsyscall and pipe phases", names, none)
	}
}
