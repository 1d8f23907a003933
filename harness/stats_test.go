package harness

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"kharness/harness/internal/harnesstest"
	"kharness/results/show"
	"kharness/results/stats"
	"kharness/results/store"
	"kharness/results/stream"
)

const statsConfig = `
boots = 5
retries = 1
accel = "tcg"
timeout = "90s"
[bench]
run = "NullSyscall/call=getppid$"
benchtime = "20ms"
count = 3
[[kernel]]
name = "6.1-cloud"
family = "6.1"
[[config]]
name = "a"
[[config]]
name = "b"       # the same boot as a: an A/A comparison
[[config]]
name = "pti-on"
cmdline = "pti=on"
`

// TestCallsWithRealBoots: with the boot as the unit, an A/A comparison (two
// cells booting the same kernel the same way) calls nothing on the exact
// count, and pti=on against default is called a regression with its size.
// Then -until-decided adds boots only where a comparison is open, never
// past its cap, and leaves the timed rows to the count.
//
// No verdict here rests on host time: a timed A/A call at alpha 0.01 is a
// complete separation of 5 boots a side, which a correct procedure makes
// in under 1% of runs and a host whose load changes between boots makes
// more often; `make bench` (BenchmarkAAFalseCalls) measures the timed
// false-call rate over repeated A/A trials instead. The timed pti=on row
// must only read more than ×2 (it reads ×12-19: every entry and exit
// switches CR3, which flushes TCG's TLB), a bound that interleaved boots
// on a loaded host do not cross.
func TestCallsWithRealBoots(t *testing.T) {
	k, _ := harnesstest.Fixture(t)
	cfg, err := ParseConfig("stats.toml", []byte(statsConfig))
	if err != nil {
		t.Fatal(err)
	}
	srcDir := harnesstest.Source(t)
	out := filepath.Join(t.TempDir(), "run")
	opt := RunOptions{Config: cfg, ConfigPath: "stats.toml", OutDir: out, CacheDir: harnesstest.Cache(t), SourceDir: srcDir,
		Column: "config", Alpha: 0.01}
	if _, err := Run(t.Context(), opt); err != nil {
		t.Fatal(err)
	}
	// Every boot says which firmware booted it: QEMU's own by default.
	boots, err := store.LoadBoots(out)
	if err != nil || len(boots) == 0 {
		t.Fatalf("%d boots: %v", len(boots), err)
	}
	for _, b := range boots {
		if b.Firmware != "seabios" || slices.Contains(b.Argv, "-bios") {
			t.Errorf("boot %s/%d: firmware %q, argv %q; want seabios, no -bios", b.Cell, b.Boot, b.Firmware, b.Argv)
		}
	}
	// The host guard is off: this checks the calling rule on 5 boots a
	// side, and under make test's load the guard may set a whole boot
	// aside (results tests the guard).
	tab, err := stats.Compare([]string{out}, stats.CompareOptions{Column: "config", Alpha: 0.01, SlowFactor: -1})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	show.WriteText(&sb, tab)
	t.Logf("%s (kernel %s)\n%s", k.Release, k.Path, sb.String())
	if tab.Columns[0] != "a" || len(tab.Rows) == 0 {
		t.Fatalf("columns %v, %d rows", tab.Columns, len(tab.Rows))
	}
	exact := 0
	for _, r := range tab.Rows {
		aa, pti := r.Cells[1], r.Cells[2]
		if r.Unit == stream.KernelInsnsUnit {
			exact++
		}
		if stream.ExactUnit(r.Unit) && aa.Call != stats.CallSame {
			t.Errorf("A/A %s %s: call %q (%+.2f), want ~", r.Benchmark, r.Unit, aa.Call, aa.Delta)
		}
		if !strings.HasPrefix(r.Benchmark, "NullSyscall") {
			continue
		}
		switch r.Unit {
		case "sec/op":
			if pti.Ratio < 2 {
				t.Errorf("pti=on %s: ×%.2f p=%.3f, want more than ×2", r.Benchmark, pti.Ratio, pti.P)
			}
		case stream.KernelInsnsUnit:
			// Exact: the boots of a cell agree to a hundredth of an
			// instruction, and pti=on adds a handful to every entry
			// and exit (CR3 switches, the trampoline stack).
			if a := r.Cells[0]; a.Hi-a.Lo > 0.05 || aa.Delta != aa.Center-a.Center || aa.Call != stats.CallSame {
				t.Errorf("exact %s: a spans %.2f..%.2f, A/A %+.2f %q; want identical counts", r.Unit, a.Lo, a.Hi, aa.Delta, aa.Call)
			}
			if pti.Call != stats.CallRegression || pti.Delta < 4 || pti.Delta > 40 {
				t.Errorf("pti=on %s: call %q %+.2f instructions, want a regression of 4-40", r.Unit, pti.Call, pti.Delta)
			}
		}
	}

	if exact == 0 {
		t.Error("no exact counts under TCG: the counting plugin did not run (insns = auto)")
	}

	// Adaptive boots on the same run: a 10% threshold, at most 7 boots,
	// the host guard off as above (in CI, beside a kernel build, it set 4
	// of a's 7 boots aside and left comparisons open at the cap).
	opt.UntilDecided, opt.MaxBoots, opt.Threshold, opt.SlowFactor = true, 7, 0.10, -1
	sum, err := Run(t.Context(), opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range sum.Decisions {
		t.Log(d)
		switch {
		case d.Outcome == "undecided":
			t.Errorf("left open: %v", d)
		case d.Boots > 7 || d.BaseBoots > 7:
			t.Errorf("past the cap: %v", d)
		case !stream.ExactUnit(d.Unit) && d.Outcome != "decided by count" && strings.HasPrefix(d.Benchmark, "NullSyscall"):
			t.Errorf("a timed row with a count beside it: %v, want decided by count", d)
		case d.Column == "pti-on" && strings.HasPrefix(d.Benchmark, "NullSyscall") && stream.ExactUnit(d.Unit) && d.Outcome != "regression":
			t.Errorf("pti-on: %v", d)
		// "beyond the cap": the spread between a's and b's boots (42-89% in
		// CI beside the other packages' boots) needs more boots than the
		// cap to call the threshold, which is what the plan says.
		case d.Column == "b" && d.Outcome != "within threshold" && d.Outcome != "same count" && d.Outcome != "counts spread" && d.Outcome != "undecided at cap" && d.Outcome != "beyond the cap" && d.Outcome != "decided by count":
			t.Errorf("A/A called under -until-decided: %v", d)
		}
	}
	if len(sum.Decisions) == 0 {
		t.Error("no decisions reported")
	}
	if t.Failed() {
		tab, err := stats.Compare([]string{out}, stats.CompareOptions{Column: "config", Alpha: 0.01, SlowFactor: -1, Threshold: 0.10})
		if err == nil {
			sb.Reset()
			show.WriteText(&sb, tab)
			t.Logf("after -until-decided:\n%s", sb.String())
		}
		b, _ := exec.Command("sh", "-c", "grep -h insns/op "+out+"/cells/*/*/boot.bench").CombinedOutput()
		t.Logf("exact lines:\n%s", b)
	}
}
