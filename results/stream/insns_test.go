package stream

import (
	"strings"
	"testing"
)

// insnsStream is a parsed stream with the given comments.
func insnsStream(comments ...string) *Stream { return &Stream{Comments: comments} }

func TestInsnsResults(t *testing.T) {
	s := insnsStream(
		"calibrate BenchmarkNullSyscall/call=getppid iters=180000 warmup=1 target=100ms",
		"insns BenchmarkNullSyscall/call=getppid iters=200 ops-per-iter=1 reps=4",
		"insns BenchmarkCtxSwitch/procs=2/ws=0KiB iters=2 ops-per-iter=2 reps=2",
	)
	// The second short stretch was hit by an interrupt (more instructions,
	// in the kernel), the third long one took a shorter path: the count
	// that recurs is the operation's, and so is the difference within the
	// pairs that recurs.
	raw := "insncount 2\n" + opens("NullSyscall/call=getppid") + "S 65002 64200\nS 130002 128400\nS 69000 68000\nS 130002 128400\nS 65002 64200\nS 129000 127000\nS 65002 64200\nS 130002 128400\n" +
		opens("CtxSwitch/procs=2/ws=0KiB") + "S 20356 20300\nS 40712 40600\nS 20356 20300\nS 40712 40600\n"
	got, none, err := InsnsResults(s, []byte(raw))
	if err != nil || len(none) != 0 {
		t.Fatal(none, err)
	}
	if len(got) != 2 {
		t.Fatalf("%d results, want 2: %+v", len(got), got)
	}
	want := []struct {
		name         string
		iters        int
		insns, kinsn float64
	}{
		{"NullSyscall/call=getppid", 200, 325, 321},
		{"CtxSwitch/procs=2/ws=0KiB", 4, 5089, 5075},
	}
	for i, w := range want {
		r := got[i]
		if r.Name != w.name || r.Iters != w.iters || len(r.Values) != 2 ||
			r.Values[0] != (Value{w.insns, InsnsUnit}) || r.Values[1] != (Value{w.kinsn, KernelInsnsUnit}) {
			t.Errorf("result %d = %+v, want %s %d %v insns/op %v kinsns/op", i, r, w.name, w.iters, w.insns, w.kinsn)
		}
	}
}

// TestInsnsResultsErrors feeds plugin output that does not fit the stream:
// each is an error naming what is wrong, never a number.
func TestInsnsResultsErrors(t *testing.T) {
	one := insnsStream("insns BenchmarkNullSyscall/call=getppid iters=200 ops-per-iter=1 reps=1")
	for _, tc := range []struct {
		name string
		s    *Stream
		raw  string
		want string
	}{
		{"empty file", one, "", "empty"},
		{"not the plugin", one, "hello\n", "not the counting plugin"},
		{"an older plugin", one, "insncount 1\nB\nS 1 1\nS 2 2\n", "older counting plugin"},
		{"out of step", one, "insncount 2\n" + opens("X") + "S 1 1\nS 2 2\n", "out of step"},
		{"no counts", one, "insncount 2\n", "saw 0 counted benchmarks, the guest says it ran 1"},
		{"counts without a phase", insnsStream(), "insncount 2\n" + opens("NullSyscall/call=getppid") + "S 1 1\nS 2 2\n", "saw 1 counted benchmarks, the guest says it ran 0"},
		{"stretch missing", one, "insncount 2\n" + opens("NullSyscall/call=getppid") + "S 1 1\n", "1 stretches counted, want 2"},
		{"kernel above total", one, "insncount 2\n" + opens("NullSyscall/call=getppid") + "S 1 2\nS 4 2\n", "bad stretch"},
		{"long shorter than short", insnsStream("insns BenchmarkX iters=1 ops-per-iter=1 reps=2"), "insncount 2\n" + opens("X") + "S 100 10\nS 50 20\nS 100 10\nS 50 20\n", "fewer instructions"},
		{"line limit", one, "insncount 2\n" + opens("NullSyscall/call=getppid") + "S 1 1\nF\n", "line limit"},
		{"end without start", one, "insncount 2\n" + opens("NullSyscall/call=getppid") + "E\n", "out of step"},
		{"stretch before bench", one, "insncount 2\nS 1 1\n", "before any benchmark"},
		{"garbage", one, "insncount 2\n" + opens("NullSyscall/call=getppid") + "S x y\n", "bad stretch"},
		{"negative", one, "insncount 2\n" + opens("NullSyscall/call=getppid") + "S -1 0\nS 2 0\n", "bad stretch"},
		{"overflow", one, "insncount 2\n" + opens("NullSyscall/call=getppid") + "S 99999999999999999999999 0\nS 2 0\n", "bad stretch"},
		{"bad comment", insnsStream("insns BenchmarkX iters=0 ops-per-iter=1 reps=1"), "insncount 2\n", "malformed comment"},
		{"bad name", insnsStream("insns Benchmark../x iters=1 ops-per-iter=1 reps=1"), "insncount 2\n", "instruction counts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := InsnsResults(tc.s, []byte(tc.raw))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("InsnsResults = %+v, %v; want an error containing %q", got, err, tc.want)
			}
		})
	}
}

// FuzzInsnsResults: whatever the plugin file holds, InsnsResults returns
// finite non-negative counts or an error, and never panics.
func FuzzInsnsResults(f *testing.F) {
	f.Add("insncount 2\n" + opens("NullSyscall/call=getppid") + "S 65002 64200\nS 130002 128400\n")
	f.Add("insncount 2\n" + opens("NullSyscall/call=getppid") + "S 1 0\nB\n")
	f.Fuzz(func(t *testing.T, raw string) {
		s := insnsStream("insns BenchmarkNullSyscall/call=getppid iters=200 ops-per-iter=1 reps=1")
		rs, _, err := InsnsResults(s, []byte(raw))
		if err != nil {
			return
		}
		for _, r := range rs {
			for _, v := range r.Values {
				if !(v.Value >= 0) || v.Value > 1e20 {
					t.Fatalf("value %v %s from %q", v.Value, v.Unit, raw)
				}
			}
		}
	})
}

// TestMode: the most common value, how often, and how many values are
// that common.
func TestMode(t *testing.T) {
	for _, tc := range []struct {
		xs            []int
		best, n, ties int
	}{
		{[]int{3, 1, 3, 2}, 3, 2, 1},
		{[]int{1, 2, 2, 1}, 1, 2, 2},
		{[]int{5, 4}, 5, 1, 2},
		{nil, 0, 0, 0},
	} {
		if best, n, ties := mode(tc.xs); best != tc.best || n != tc.n || ties != tc.ties {
			t.Errorf("mode(%v) = %d, %d, %d; want %d, %d, %d", tc.xs, best, n, ties, tc.best, tc.n, tc.ties)
		}
	}
}

// TestInsnsResultsClockChanged: a switching benchmark whose count phase
// ended on another clocksource than the guest started on (the kernel's
// watchdog marked the TSC unstable mid-boot) has no count but an
// insns-none reason naming both clocks; one that ended on the same clock,
// and a stream from before the clock was sent, keep theirs.
func TestInsnsResultsClockChanged(t *testing.T) {
	raw := "insncount 2\n" + opens("PipeRoundTrip/procs=2") + "S 11090 11063\nS 22180 22126\nS 11090 11063\nS 22180 22126\n" +
		opens("CtxSwitch/procs=2/ws=0KiB") + "S 11354 11327\nS 22708 22654\nS 11354 11327\nS 22708 22654\n"
	for _, tc := range []struct {
		name, pipe, ctx string
		counted         int
	}{
		{"same clock", " clock=tsc", " clock=tsc", 2},
		{"changed before the second", " clock=tsc", " clock=hpet", 1},
		{"not sent", "", "", 2},
	} {
		s := insnsStream(
			"insns BenchmarkPipeRoundTrip/procs=2 iters=1 ops-per-iter=1 reps=2"+tc.pipe,
			"insns BenchmarkCtxSwitch/procs=2/ws=0KiB iters=1 ops-per-iter=2 reps=2"+tc.ctx)
		s.Config = []KV{{"clocksource", "tsc"}}
		got, none, err := InsnsResults(s, []byte(raw))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(got) != tc.counted || len(got)+len(none) != 2 {
			t.Errorf("%s: %d counts and %d without, want %d counts", tc.name, len(got), len(none), tc.counted)
		}
		for _, n := range none {
			if n.Name != "CtxSwitch/procs=2/ws=0KiB" || !strings.Contains(n.Reason, "hpet at the end") || !strings.Contains(n.Reason, "tsc when the guest started") {
				t.Errorf("%s: no count for %s: %q", tc.name, n.Name, n.Reason)
			}
		}
	}
	if _, _, err := InsnsResults(insnsStream("insns BenchmarkX iters=1 ops-per-iter=1 reps=1 clock=has space"), []byte("insncount 2\n")); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("a clock with a space: %v, want malformed", err)
	}
}

// TestInsnsResultsLongStretchInterrupted: on a host so busy that most long
// stretches carry an interrupt the short ones miss, the two lengths'
// common counts agree with the common difference within a pair, yet the
// count would be wrong (here 332.49 instead of 325 a getppid): twice the
// short stretch less the long one, in the kernel, is below 0, so there is
// no count, with the reason. A per-stretch constant (both lengths alike)
// leaves the count as it is.
func TestInsnsResultsLongStretchInterrupted(t *testing.T) {
	s := insnsStream("insns BenchmarkNullSyscall/call=getppid iters=100 ops-per-iter=1 reps=3")
	hit := "insncount 2\n" + opens("NullSyscall/call=getppid") + "S 32525 32100\nS 65774 64949\nS 32525 32100\nS 65774 64949\nS 32525 32100\nS 65025 64200\n"
	got, none, err := InsnsResults(s, []byte(hit))
	if err != nil || len(got) != 0 || len(none) != 1 || !strings.Contains(none[0].Reason, "kernel work the short ones' lacks") {
		t.Errorf("long stretches interrupted: %+v, %+v, %v; want no count and the reason", got, none, err)
	}
	constant := "insncount 2\n" + opens("NullSyscall/call=getppid") + "S 32531 32106\nS 65031 64206\nS 32531 32106\nS 65031 64206\nS 32531 32106\nS 65031 64206\n"
	got, none, err = InsnsResults(s, []byte(constant))
	if err != nil || len(none) != 0 || len(got) != 1 || got[0].Values[1] != (Value{321, KernelInsnsUnit}) {
		t.Errorf("a constant per-stretch extra: %+v, %+v, %v; want 321 kinsns/op", got, none, err)
	}
}
