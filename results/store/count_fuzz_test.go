package store

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"kharness/results/stream"
	"kharness/results/wire"
)

// FuzzCountPipeline runs the exact-count pipeline on its inputs together,
// as a boot does: the guest's stream (its comments, among them the
// "insns" comments of its count phases, and any other line it writes), the
// plugin's file, then the boot.bench the host writes from both, read back
// as compare reads it; and, beside them, a boot.bench as it may be found on
// disk (edited or from an older kharness). Whatever they hold:
//
//   - a count recorded (written, or read) has its kernel share no larger
//     than its total;
//   - a benchmark has at most one count of each unit per boot;
//   - a count is recorded only where the stretches agree: the long
//     stretches' most common count less the short ones' (each recurring,
//     without a rival) is also the most common difference within a pair;
//   - what is read back is what was written.
func FuzzCountPipeline(f *testing.F) {
	tag := func(name string) string { return "B " + wire.InsnsTag(name) + "\n" }
	null := "# insns BenchmarkNullSyscall/call=getppid iters=200 ops-per-iter=1 reps=2\n"
	read := "# insns BenchmarkRead/file=dev-zero/bytes=1 iters=100 ops-per-iter=1 reps=2\n"
	nullS := "S 65002 64200\nS 130002 128400\nS 65002 64200\nS 130002 128400\n"
	readS := "S 65702 65300\nS 131402 130600\nS 65702 65300\nS 131402 130600\n"
	good := "insncount 2\n" + tag("NullSyscall/call=getppid") + nullS + tag("Read/file=dev-zero/bytes=1") + readS
	onDisk := "kernel: k\n\nBenchmarkNullSyscall/call=getppid 200 325 insns/op 321 kinsns/op\n"
	f.Add(null+read, good, onDisk)
	// The groups in the other order: a tag mismatch.
	f.Add(null+read, "insncount 2\n"+tag("Read/file=dev-zero/bytes=1")+nullS+tag("NullSyscall/call=getppid")+readS, onDisk)
	// Two phases of one benchmark; a guest line with an exact unit.
	f.Add(null+null, "insncount 2\n"+tag("NullSyscall/call=getppid")+nullS+tag("NullSyscall/call=getppid")+nullS, onDisk)
	f.Add(null+"BenchmarkNullSyscall/call=getppid 200 1 insns/op\n", good, onDisk)
	// Stretches that disagree: the most common short count (130) and long
	// one (200) are not the most common pair (100, 200); and a boot.bench
	// with a kernel share above its total.
	f.Add(strings.Replace(null, "reps=2", "reps=6", 1), "insncount 2\n"+tag("NullSyscall/call=getppid")+
		"S 100 50\nS 200 100\nS 100 50\nS 200 100\nS 130 65\nS 170 85\nS 130 65\nS 200 100\nS 130 65\nS 250 125\nS 110 55\nS 300 150\n",
		"BenchmarkX 50 56.52 insns/op 104.4 kinsns/op\n")
	f.Add(null, "insncount 2\n"+tag("NullSyscall/call=getppid")+nullS, "BenchmarkX 50 56.52 insns/op 104.4 kinsns/op\nBenchmarkX 50 364 insns/op 360 kinsns/op\n")
	f.Add("", "insncount 2\n", "BenchmarkX 1 5 kinsns/op\nBenchmarkY 1 5 insns/op 5 kinsns/op\n")
	f.Fuzz(func(t *testing.T, comments, plugin, bench string) {
		checkRead(t, "on disk", []byte(bench), nil)
		body := stream.StreamHeader + "\n" + comments
		if comments != "" && !strings.HasSuffix(comments, "\n") {
			body += "\n"
		}
		n := strings.Count("\n"+body, "\nBenchmark")
		raw := body + fmt.Sprintf("# kharness-end count=%d sha256=%x\n", n, sha256.Sum256([]byte(body)))
		s, err := stream.Parse(strings.NewReader(raw), 0)
		if err != nil {
			return // a failed boot
		}
		for _, r := range s.Results {
			for _, v := range r.Values {
				if stream.ExactUnit(v.Unit) {
					t.Fatalf("the guest's stream kept %s %v %s", r.Name, v.Value, v.Unit)
				}
			}
		}
		rs, none, err := stream.InsnsResults(s, []byte(plugin))
		if err != nil {
			return // a failed boot
		}
		checkAgree(t, s, plugin, rs, none)
		s.Results = append(s.Results, rs...)
		for _, n := range none {
			s.Comments = append(s.Comments, n.Comment())
		}
		var b bytes.Buffer
		if err := s.WriteBench(&b, []stream.KV{{Key: "kernel", Value: "k"}}); err != nil {
			return // a garbled boot: the guest claimed a host key
		}
		checkRead(t, "written", b.Bytes(), rs)
	})
}

// checkRead reads data as compare does and checks the counts read: one of
// each unit per benchmark, a kernel share only with its total and no
// larger; with want (the counts the host wrote), exactly those.
func checkRead(t *testing.T, what string, data []byte, want []stream.Result) {
	t.Helper()
	b, err := ParseBench(data, "boot.bench")
	if err != nil {
		return
	}
	got := map[string]map[string][]float64{}
	for _, l := range b.Lines {
		for _, v := range l.Values {
			if stream.ExactUnit(v.Unit) {
				if got[l.Name] == nil {
					got[l.Name] = map[string][]float64{}
				}
				got[l.Name][v.Unit] = append(got[l.Name][v.Unit], v.Value)
			}
		}
	}
	for name, units := range got {
		total, kernel := units[stream.InsnsUnit], units[stream.KernelInsnsUnit]
		if len(total) > 1 || len(kernel) > 1 {
			t.Fatalf("%s: %s: counts %v read for one boot", what, name, units)
		}
		if len(kernel) == 1 && (len(total) == 0 || kernel[0] > total[0]) {
			t.Fatalf("%s: %s: kernel share %v read with total %v", what, name, kernel, total)
		}
	}
	if want == nil {
		return
	}
	for _, r := range want {
		if g := got[r.Name]; len(g[stream.InsnsUnit]) != 1 || g[stream.InsnsUnit][0] != r.Values[0].Value ||
			len(g[stream.KernelInsnsUnit]) != 1 || g[stream.KernelInsnsUnit][0] != r.Values[1].Value {
			t.Fatalf("%s: %s: wrote %v, read %v", what, r.Name, r.Values, g)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: wrote %d counts, read %d", what, len(want), len(got))
	}
}

// checkAgree checks InsnsResults' counts rs against the plugin file and
// the stream's count phases, read here on their own: every counted
// benchmark has a count or a no-count record, never both; a count's
// kernel share is no larger than its total; and a count comes from
// stretches that agree.
func checkAgree(t *testing.T, s *stream.Stream, plugin string, rs []stream.Result, none []stream.NoCount) {
	t.Helper()
	type phase struct {
		name string
		ops  uint64
	}
	var phases []phase
	for _, c := range s.Comments {
		if f := strings.Fields(c); len(f) == 5 && f[0] == "insns" {
			iters, _ := strconv.ParseUint(strings.TrimPrefix(f[2], "iters="), 10, 64)
			ops, _ := strconv.ParseUint(strings.TrimPrefix(f[3], "ops-per-iter="), 10, 64)
			phases = append(phases, phase{strings.TrimPrefix(f[1], "Benchmark"), iters * ops})
		}
	}
	var groups [][][2]int64
	for _, l := range strings.Split(plugin, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 2 && f[0] == "B":
			groups = append(groups, nil)
		case len(f) == 3 && f[0] == "S":
			a, _ := strconv.ParseInt(f[1], 10, 64)
			b, _ := strconv.ParseInt(f[2], 10, 64)
			groups[len(groups)-1] = append(groups[len(groups)-1], [2]int64{a, b})
		}
	}
	if len(groups) != len(phases) || len(rs)+len(none) != len(phases) {
		t.Fatalf("%d phases, %d groups: %d counts and %d without", len(phases), len(groups), len(rs), len(none))
	}
	seen := map[string]bool{}
	for _, n := range none {
		seen[n.Name] = true
	}
	for _, r := range rs {
		if seen[r.Name] {
			t.Fatalf("%s: a second count, or a count and none", r.Name)
		}
		seen[r.Name] = true
		if len(r.Values) != 2 || r.Values[1].Value > r.Values[0].Value || r.Values[1].Value < 0 {
			t.Fatalf("%s: values %v", r.Name, r.Values)
		}
		i := 0
		for i < len(phases) && phases[i].name != r.Name {
			i++
		}
		short, long, diff := modes(groups[i], 0), modes(groups[i], 1), modeDiff(groups[i])
		ops := float64(phases[i].ops)
		if short == nil || long == nil || diff == nil || long[0]-short[0] != diff[0] || long[1]-short[1] != diff[1] ||
			r.Values[0].Value != float64(diff[0])/ops || r.Values[1].Value != float64(diff[1])/ops {
			t.Fatalf("%s: count %v from stretches %v that do not agree on it (short %v, long %v, within a pair %v)", r.Name, r.Values, groups[i], short, long, diff)
		}
	}
}

// modes is the count of every other stretch of g from first that recurs
// most, if it recurs and has no rival; nil otherwise.
func modes(g [][2]int64, first int) *[2]int64 {
	var xs [][2]int64
	for i := first; i < len(g); i += 2 {
		xs = append(xs, g[i])
	}
	return unique(xs)
}

// modeDiff is the difference within a pair of stretches of g that recurs
// most, if it recurs and has no rival; nil otherwise.
func modeDiff(g [][2]int64) *[2]int64 {
	var xs [][2]int64
	for i := 0; i+1 < len(g); i += 2 {
		xs = append(xs, [2]int64{g[i+1][0] - g[i][0], g[i+1][1] - g[i][1]})
	}
	return unique(xs)
}

// unique is the value of xs that recurs most, if it recurs and no other
// value recurs as often; nil otherwise.
func unique(xs [][2]int64) *[2]int64 {
	n := map[[2]int64]int{}
	for _, x := range xs {
		n[x]++
	}
	var best [2]int64
	bestN, ties := 0, 0
	for x, c := range n {
		switch {
		case c > bestN:
			best, bestN, ties = x, c, 1
		case c == bestN:
			ties++
		}
	}
	if bestN < 2 || ties > 1 {
		return nil
	}
	return &best
}
