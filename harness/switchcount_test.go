package harness

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"kharness/results/stats"
	"kharness/results/store"
	"kharness/results/stream"
)

// TestSwitchCountsAgree boots the newest Debian 6.1 cloud kernel twice with
// the counting plugin and checks that the pipe round trip and the
// 2-process lat_ctx hop count the same instructions in both boots, within
// 0.1% (the exact call's floor): the count phase's SCHED_FIFO path, not
// the host's speed, decides them. Each boot also records that policy.
// The same boots count the C reference's loops (fidelity/kref.c, run
// with the same plan): the kernel's share of each C round trip must be
// the Go loop's within 0.5%, and the same in both boots.
func TestSwitchCountsAgree(t *testing.T) {
	bootFixture(t) // QEMU, the kernel and the image, or the reason not
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
	srcDir, _ := filepath.Abs("..")
	out := filepath.Join(t.TempDir(), "run")
	start := time.Now()
	if _, err := Run(t.Context(), RunOptions{Config: cfg, ConfigPath: "switch.toml", OutDir: out, CacheDir: fixture.cache, SourceDir: srcDir, Jobs: 1}); err != nil {
		t.Fatal(err)
	}
	t.Logf("2 boots in %v", time.Since(start).Round(time.Millisecond))
	for _, name := range []string{"PipeRoundTrip/procs=2", "CtxSwitch/procs=2/ws=0KiB"} {
		re := regexp.MustCompile("^" + regexp.QuoteMeta(name) + "$")
		vals, _, failed, err := stats.BootSamples([]string{out}, nil, re, stream.InsnsUnit, stats.StatMedian, -1)
		if err != nil || failed != 0 || len(vals) != 2 {
			t.Fatalf("%s: %v insns/op, %d failed boots, %v; want 2 boots", name, vals, failed, err)
		}
		t.Logf("%s: %v insns/op", name, vals)
		lo, hi := min(vals[0], vals[1]), max(vals[0], vals[1])
		if lo <= 0 || (hi-lo)/lo > 0.001 {
			t.Errorf("%s: boots counted %v insns/op: more than 0.1%% apart", name, vals)
		}
	}
	for _, name := range []string{"PipeRoundTrip/procs=2", "CtxSwitch/procs=2/ws=0KiB"} {
		goK, cK := bootCounts(t, out, name+"/impl=go"), bootCounts(t, out, name+"/impl=c")
		t.Logf("%s: kernel insns/op Go %v, C %v", name, goK, cK)
		if cK[0] != cK[1] {
			t.Errorf("%s: the C loop's kernel count differs between boots: %v", name, cK)
		}
		for i := range goK {
			if d := (cK[i] - goK[i]) / goK[i]; d > 0.005 || d < -0.005 {
				t.Errorf("%s boot %d: C's kernel count %v is %+.2f%% from Go's %v, beyond 0.5%%", name, i, cK[i], 100*d, goK[i])
			}
		}
	}
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
	}
}

// bootCounts returns the kernel instructions per operation of benchmark
// name in each of the 2 boots of run out.
func bootCounts(t *testing.T, out, name string) []float64 {
	t.Helper()
	re := regexp.MustCompile("^" + regexp.QuoteMeta(name) + "$")
	vals, _, failed, err := stats.BootSamples([]string{out}, nil, re, stream.KernelInsnsUnit, stats.StatMedian, -1)
	if err != nil || failed != 0 || len(vals) != 2 {
		t.Fatalf("%s: %v kinsns/op, %d failed boots, %v; want 2 boots", name, vals, failed, err)
	}
	return vals
}
