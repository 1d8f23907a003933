package harness

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kharness/harness/internal/harnesstest"
	"kharness/harness/vm"
	"kharness/results/stats"
	"kharness/results/store"
	"kharness/results/stream"
)

// defaultRun is configs/default.toml's benchmark selection: the five
// classic columns.
const defaultRun = "NullSyscall/call=getppid$|Read/|Write/|PipeRoundTrip/procs=2$|CtxSwitch/procs=2/ws=0KiB$"

// suiteBoot boots the default suite once (benchtime 100ms, count 10), with
// the counting plugin when plugin is not empty, and returns the boot's
// wall time and, when counted, its exact lines.
func suiteBoot(b *testing.B, kernel, image, plugin string) (time.Duration, []stream.Result) {
	b.Helper()
	dir := b.TempDir()
	cfg := &Config{Bench: BenchConfig{Run: defaultRun, Benchtime: "100ms", Count: 10}}
	vmo := vm.VMOptions{Kernel: kernel, Initrd: image, Accel: "tcg", Cmdline: cmdline(cfg, BootConfig{}, "")}
	if plugin != "" {
		vmo.Plugin, vmo.PluginOut = plugin, filepath.Join(dir, stream.InsnsFile)
		vmo.Cmdline += " kharness.insns=1"
	}
	start := time.Now()
	v, err := vm.Boot(context.Background(), vm.BootSpec{VM: vmo, Deadline: 180 * time.Second},
		filepath.Join(dir, "console.log"), filepath.Join(dir, "results.raw"))
	wall := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	if v.Status != store.StatusOK {
		b.Fatalf("boot: %s: %s\nconsole:\n%s", v.Status, v.Reason, strings.Join(v.ConsoleTail, "\n"))
	}
	if plugin == "" {
		return wall, nil
	}
	n := len(v.Stream.Results)
	if err := vm.AddInsns(v.Stream, vmo.PluginOut); err != nil {
		b.Fatal(err)
	}
	return wall, v.Stream.Results[n:]
}

// BenchmarkCountingOverhead boots the default suite with exact counting on
// and off, alternating, and reports the median wall time of each and their
// ratio: what the plugin's inline counters and each benchmark's counted
// stretches add to a boot. It also reports the null syscall's count and
// its spread over the counted boots.
func BenchmarkCountingOverhead(b *testing.B) {
	k, img := harnesstest.Fixture(b)
	plugin, err := vm.BuildPlugin(context.Background(), harnesstest.Cache(b))
	if err != nil {
		b.Fatal(err)
	}
	n := benchBoots(b)
	for range b.N {
		var on, off []time.Duration
		var null []float64
		count := func() {
			w, rs := suiteBoot(b, k.Path, img, plugin)
			on = append(on, w)
			for _, r := range rs {
				if strings.HasPrefix(r.Name, "NullSyscall") {
					null = append(null, r.Values[0].Value)
				}
			}
		}
		for i := range n {
			if i%2 == 0 {
				count()
				w, _ := suiteBoot(b, k.Path, img, "")
				off = append(off, w)
			} else {
				w, _ := suiteBoot(b, k.Path, img, "")
				off = append(off, w)
				count()
			}
		}
		mon, moff := medianDuration(on), medianDuration(off)
		b.ReportMetric(mon.Seconds(), "counted-boot-s")
		b.ReportMetric(moff.Seconds(), "timed-boot-s")
		b.ReportMetric(mon.Seconds()/moff.Seconds(), "x-timed")
		lo, hi := null[0], null[0]
		for _, x := range null {
			lo, hi = min(lo, x), max(hi, x)
		}
		b.ReportMetric(stats.Median(null), "null-syscall-insns")
		b.Logf("kernel %s, default suite, %d boots each: counted median %v %v, timed only %v %v: %.2fx; null syscall %.2f..%.2f instructions over the counted boots",
			k.Release, n, mon.Round(time.Millisecond), roundAll(on), moff.Round(time.Millisecond), roundAll(off),
			mon.Seconds()/moff.Seconds(), lo, hi)
	}
	b.ReportMetric(0, "ns/op")
}
