package harness

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"kharness/harness/internal/harnesstest"
	"kharness/results/stats"
	"kharness/results/store"
	"kharness/results/stream"
)

// TestSwitchCountsAgree boots the newest Debian 6.1 cloud kernel twice (or
// more, see below) with the counting plugin and checks that the pipe round
// trip and the 2-process lat_ctx hop count the same instructions in every
// boot that counted them, within 0.1% (the exact call's floor): the count
// phase's SCHED_FIFO path, not the host's speed, decides them. Each boot also records that policy.
// The same boots count the C reference's loops (fidelity/kref.c, run
// with the same plan): the kernel's share of each C round trip must be
// the Go loop's within 0.5%, and the same in every boot.
func TestSwitchCountsAgree(t *testing.T) {
	harnesstest.Fixture(t) // QEMU, the kernel and the image, or the reason not
	src := []byte(`boots = 2
accel = "tcg"
insns = "on"
timeout = "60s"
[bench]
run = "(PipeRoundTrip/procs=2|CtxSwitch/procs=2/ws=0KiB)(/impl=go)?$"
benchtime = "10ms"
count = 1
[[kernel]]
name = "k"
family = "6.1"
flavour = "cloud-amd64"
[[config]]
name = "default"
`)
	cfg, err := ParseConfig("switch.toml", src)
	if err != nil {
		t.Fatal(err)
	}
	srcDir := harnesstest.Source(t)
	out := filepath.Join(t.TempDir(), "run")
	names := []string{"PipeRoundTrip/procs=2", "CtxSwitch/procs=2/ws=0KiB"}
	var rows []string
	for _, n := range names {
		rows = append(rows, n, n+"/impl=go", n+"/impl=c")
	}
	// A boot whose stretches agree on no one path has no count for that
	// benchmark, and says why ("insns-none"): more likely the busier the
	// host (guest time runs on while the guest waits, and the
	// time-driven detours come more often). Such a boot is not averaged
	// in; the run boots more, up to 5, until every row has 2 counts.
	start := time.Now()
	var counts map[string][]float64
	for boots := 2; boots <= 5; boots++ {
		if _, err := Run(t.Context(), RunOptions{Config: cfg, ConfigPath: "switch.toml", OutDir: out, CacheDir: harnesstest.Cache(t), SourceDir: srcDir, Jobs: 1, Boots: boots}); err != nil {
			t.Fatal(err)
		}
		counts = map[string][]float64{}
		enough := true
		for _, r := range rows {
			for _, unit := range []string{stream.InsnsUnit, stream.KernelInsnsUnit} {
				vals := bootCounts(t, out, r, unit)
				counts[r+" "+unit] = vals
				enough = enough && len(vals) >= 2
			}
		}
		if enough {
			break
		}
		t.Logf("after %d boots: %v; booting one more", boots, counts)
	}
	t.Logf("booted in %v", time.Since(start).Round(time.Millisecond))
	for _, r := range rows {
		for _, unit := range []string{stream.InsnsUnit, stream.KernelInsnsUnit} {
			vals := counts[r+" "+unit]
			t.Logf("%s: %v %s", r, vals, unit)
			if len(vals) < 2 {
				t.Errorf("%s: %d boots of 5 counted %s, want 2 or more", r, len(vals), unit)
				continue
			}
			if lo, hi := slices.Min(vals), slices.Max(vals); lo <= 0 || (hi-lo)/lo > 0.001 {
				t.Errorf("%s: boots counted %v %s: more than 0.1%% apart", r, vals, unit)
			}
		}
	}
	for _, n := range names {
		goK, cK := counts[n+"/impl=go "+stream.KernelInsnsUnit], counts[n+"/impl=c "+stream.KernelInsnsUnit]
		if len(goK) == 0 || len(cK) == 0 {
			continue
		}
		if d := (cK[0] - goK[0]) / goK[0]; d > 0.005 || d < -0.005 {
			t.Errorf("%s: C's kernel count %v is %+.2f%% from Go's %v, beyond 0.5%%", n, cK[0], 100*d, goK[0])
		}
	}
	checkSwitchBoots(t, out)
}

// bootCounts returns the counts in unit of benchmark name, one a boot
// that has one.
func bootCounts(t *testing.T, out, name, unit string) []float64 {
	t.Helper()
	re := regexp.MustCompile("^" + regexp.QuoteMeta(name) + "$")
	vals, _, failed, err := stats.BootSamples([]string{out}, nil, re, unit, stats.StatMedian, -1)
	if err != nil || failed != 0 {
		t.Fatalf("%s: %v %s, %d failed boots, %v", name, vals, unit, failed, err)
	}
	return vals
}

// checkSwitchBoots checks that every boot of out records the fifo policy
// of its switch counts and the TSC with its watchdog off, and that a boot lacking a count of a benchmark it
// ran says why, in an "insns-none" comment.
func checkSwitchBoots(t *testing.T, out string) {
	t.Helper()
	boots, err := store.LoadBoots(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range boots {
		bench, err := store.ReadBench(b)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(bench.InsnsSched, "fifo:") {
			t.Errorf("%s boot %d: insns-sched %q, want the fifo policy recorded", b.Cell, b.Boot, bench.InsnsSched)
		}
		if !strings.HasPrefix(bench.InsnsClock, "tsc; TSC watchdog off (tsc=reliable)") {
			t.Errorf("%s boot %d: insns-clock %q, want the TSC with its watchdog off", b.Cell, b.Boot, bench.InsnsClock)
		}
		counted := map[string]bool{}
		for _, l := range bench.Lines {
			for _, v := range l.Values {
				if v.Unit == stream.InsnsUnit {
					counted[l.Name] = true
				}
			}
		}
		for _, l := range bench.Lines {
			if !counted[l.Name] && !slices.ContainsFunc(bench.NoCount, func(c string) bool { return strings.Contains(c, "Benchmark"+l.Name+":") }) {
				t.Errorf("boot %d: %s has no count and no insns-none comment saying why", b.Boot, l.Name)
			}
		}
	}
}
