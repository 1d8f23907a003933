package harness

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"time"

	"kharness/harness/internal/harnesstest"
	"kharness/results/stats"
	"kharness/results/store"
	"kharness/results/stream"
)

// BenchmarkAAFalseCalls measures how often the statistics call a change
// that is not there. One run boots the same kernel the same way in two
// cells, a and b, N boots each (KHARNESS_AA_BOOTS, default 20); then:
//   - disjoint trials: boots [5i, 5i+5) of a against the same of b, N/5
//     independent A/A comparisons at the default alpha and threshold;
//   - resampled trials: 2000 random 5-vs-5 draws from the 2N boots, an
//     estimate of the false-call rate with these boots' real noise;
//   - the smallest shift called: b's boots scaled by 1+d, d raised in 0.5%
//     steps until a 5-vs-5 comparison calls it, over the disjoint trials.
//
// It runs four ways: on a quiet host and beside a CPU hog of half a core
// (busyHost: what a laptop's browser or a CI neighbour does), each with
// the automatic -j (one VM at a time on 2 cores) and with -j 2, the
// default before it left QEMU's threads a core.
func BenchmarkAAFalseCalls(b *testing.B) {
	for _, host := range []struct {
		name string
		hog  float64
	}{{"quiet", 0}, {"busy", 0.5}} {
		for _, j := range []struct {
			name string
			jobs int
		}{{"j=auto", 0}, {"j=2", 2}} {
			b.Run(host.name+"/"+j.name, func(b *testing.B) {
				if host.hog > 0 {
					defer busyHost(host.hog)()
				}
				aaFalseCalls(b, j.jobs)
			})
		}
	}
}

// busyHost keeps one host thread busy for duty of every 10 ms until the
// returned stop is called: a CPU hog of known duty cycle, the same on
// every machine, with nothing to install.
func busyHost(duty float64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer close(finished)
		const period = 10 * time.Millisecond
		on := time.Duration(duty * float64(period))
		for {
			select {
			case <-done:
				return
			default:
			}
			for t0 := time.Now(); time.Since(t0) < on; {
			}
			time.Sleep(period - on)
		}
	}()
	return func() { close(done); <-finished }
}

func aaFalseCalls(b *testing.B, jobs int) {
	k, _ := harnesstest.Fixture(b)
	n := 20
	if s := os.Getenv("KHARNESS_AA_BOOTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	src := []byte(`
boots = ` + strconv.Itoa(n) + `
retries = 1
accel = "tcg"
[bench]
run = "NullSyscall/call=getppid$"
benchtime = "50ms"
count = 5
[[kernel]]
name = "k"
family = "6.1"
[[config]]
name = "a"
[[config]]
name = "b"
`)
	cfg, err := ParseConfig("aa.toml", src)
	if err != nil {
		b.Fatal(err)
	}
	srcDir := harnesstest.Source(b)
	out := filepath.Join(b.TempDir(), "run")
	if _, err := Run(b.Context(), RunOptions{Config: cfg, ConfigPath: "aa.toml", OutDir: out, CacheDir: harnesstest.Cache(b), SourceDir: srcDir, Jobs: jobs}); err != nil {
		b.Fatal(err)
	}
	for _, method := range []struct {
		name    string
		factor  float64
		correct bool
	}{{"set-aside", 0, false}, {"corrected", 0, true}, {"kept", -1, false}} {
		// Per-boot medians of each cell, in boot order.
		a, bb := cellSeriesWith(b, out, "a", "sec/op", method.factor, method.correct), cellSeriesWith(b, out, "b", "sec/op", method.factor, method.correct)
		aaTrials(b, k.Release, method.name, a, bb)
	}
	gs, err := stats.Guard(mustBoots(b, out), stats.DefaultSlowFactor).Stats()
	if err != nil {
		b.Fatal(err)
	}
	if gs.Samples > 0 {
		b.ReportMetric(100*float64(gs.SetAside)/float64(gs.Samples), "set-aside-%")
	}
	b.ReportMetric(0, "ns/op")
	exactAA(b, cellSeries(b, out, "a", stream.InsnsUnit), cellSeries(b, out, "b", stream.InsnsUnit))
}

// aaTrials is the A/A analysis of one way of handling host-slow samples
// (method): false calls over disjoint and resampled 5-vs-5 trials, and the
// smallest shift a 5-vs-5 comparison calls.
func aaTrials(b *testing.B, release, method string, a, bb []float64) {
	called := func(x, y []float64) bool {
		p := stats.UTest(x, y)
		r := stats.Median(y) / stats.Median(x)
		return p < 0.05 && (r > 1.02 || r < 0.98)
	}
	trials, falseCalls := 0, 0
	var minShift []float64
	for i := 0; i+5 <= min(len(a), len(bb)); i += 5 {
		trials++
		if called(a[i:i+5], bb[i:i+5]) {
			falseCalls++
		}
		for d := 0.005; d < 1; d += 0.005 {
			shifted := make([]float64, 5)
			for j := range shifted {
				shifted[j] = bb[i+j] * (1 + d)
			}
			if called(a[i:i+5], shifted) {
				minShift = append(minShift, d)
				break
			}
		}
	}
	all := append(append([]float64{}, a...), bb...)
	rng := rand.New(rand.NewPCG(1, 2))
	resampled, resampledCalls := 2000, 0
	for t := 0; t < resampled; t++ {
		perm := rng.Perm(len(all))
		x, y := make([]float64, 5), make([]float64, 5)
		for j := 0; j < 5; j++ {
			x[j], y[j] = all[perm[j]], all[perm[5+j]]
		}
		if called(x, y) {
			resampledCalls++
		}
	}
	b.ReportMetric(float64(falseCalls), method+"-false-calls")
	b.ReportMetric(float64(trials), method+"-aa-trials")
	b.ReportMetric(100*float64(resampledCalls)/float64(resampled), method+"-resampled-false-call-%")
	b.ReportMetric(100*stats.Median(minShift), method+"-min-called-shift-%")
	b.Logf("%s: kernel %s, %d+%d boots: %d false calls in %d disjoint A/A trials (5 vs 5, alpha 0.05, threshold 2%%); %.1f%% of %d resampled 5-vs-5 draws called; smallest shift called per trial %v (median %.1f%%); per-boot medians a=%v b=%v",
		method, release, len(a), len(bb), falseCalls, trials, 100*float64(resampledCalls)/float64(resampled), resampled, minShift, 100*stats.Median(minShift), a, bb)
}

// exactAA is BenchmarkAAFalseCalls for the exact count (insns/op) of the
// same boots: false calls of compare's rule for exact units
// (stats.DecideExact) over disjoint 2-vs-2 and 5-vs-5 trials and 2000
// resampled 2-vs-2 draws, and the smallest shift, in instructions, that a
// 2-vs-2 comparison calls (b's counts plus d, d raised by 0.05).
func exactAA(b *testing.B, a, bb []float64) {
	if len(a) == 0 || len(bb) == 0 {
		b.Fatal("no exact counts: the counting plugin did not run")
	}
	called := func(x, y []float64) bool {
		c, _ := stats.DecideExact(x, y, stats.DefaultExactThreshold)
		return c != stats.CallSame
	}
	shifted := func(y []float64, d float64) []float64 {
		out := make([]float64, len(y))
		for i, v := range y {
			out[i] = v + d
		}
		return out
	}
	var calls2, trials2, calls5, trials5 int
	var minShift []float64
	for i := 0; i+2 <= min(len(a), len(bb)); i += 2 {
		trials2++
		if called(a[i:i+2], bb[i:i+2]) {
			calls2++
		}
		for d := 0.05; d < 50; d += 0.05 {
			if called(a[i:i+2], shifted(bb[i:i+2], d)) {
				minShift = append(minShift, d)
				break
			}
		}
	}
	for i := 0; i+5 <= min(len(a), len(bb)); i += 5 {
		trials5++
		if called(a[i:i+5], bb[i:i+5]) {
			calls5++
		}
	}
	all := append(append([]float64{}, a...), bb...)
	rng := rand.New(rand.NewPCG(3, 4))
	resampledCalls := 0
	for t := 0; t < 2000; t++ {
		perm := rng.Perm(len(all))
		if called([]float64{all[perm[0]], all[perm[1]]}, []float64{all[perm[2]], all[perm[3]]}) {
			resampledCalls++
		}
	}
	lo, hi := all[0], all[0]
	for _, v := range all {
		lo, hi = min(lo, v), max(hi, v)
	}
	b.ReportMetric(float64(calls2+calls5), "exact-false-calls")
	b.ReportMetric(100*float64(resampledCalls)/2000, "exact-resampled-false-call-%")
	b.ReportMetric(stats.Median(minShift), "exact-min-called-insns")
	b.Logf("exact insns/op over %d+%d boots: %.2f..%.2f; %d false calls in %d disjoint 2-vs-2 and %d in %d 5-vs-5 A/A trials; %.2f%% of 2000 resampled 2-vs-2 draws called; smallest shift called 2-vs-2 (median over trials) %.2f instructions",
		len(a), len(bb), lo, hi, calls2, trials2, calls5, trials5, 100*float64(resampledCalls)/2000, stats.Median(minShift))
}

func mustBoots(b *testing.B, run string) []*store.BootRecord {
	boots, err := store.LoadBoots(run)
	if err != nil {
		b.Fatal(err)
	}
	return boots
}

// cellSeries is the per-boot medians of one config's cell, in boot order.
func cellSeries(b *testing.B, run, config, unit string) []float64 {
	return cellSeriesWith(b, run, config, unit, 0, false)
}

// cellSeriesWith is cellSeries with the host guard's factor (0: the
// default, negative: keep every sample) and correction.
func cellSeriesWith(b *testing.B, run, config, unit string, factor float64, correct bool) []float64 {
	vs, _, _, err := stats.BootSamplesCorrected([]string{run}, func(r *store.BootRecord) bool { return r.Config.Name == config },
		regexp.MustCompile("NullSyscall/call=getppid$"), unit, stats.StatMedian, factor, correct)
	if err != nil {
		b.Fatal(err)
	}
	return vs
}
