//go:build linux

package guest

import (
	"context"
	"fmt"
	"io"
	"math"
	"regexp"
	"runtime"
	"runtime/debug"
	"time"
)

// Benchmark is one entry of the suite.
type Benchmark struct {
	// Name is printed after "Benchmark", e.g. "NullSyscall/call=getppid".
	Name string
	// Loop runs the measured operation n times. It must not allocate.
	Loop func(n uint64)
	// Skip, if not nil, returns a non-empty reason when the benchmark cannot
	// run on this system.
	Skip func() string
}

// Benchmarks returns the suite, in the order it runs.
func Benchmarks() []Benchmark {
	return []Benchmark{
		{Name: "NullSyscall/call=getppid", Loop: getppidLoop},
	}
}

// Calibration is what calibrate chose for one benchmark.
type Calibration struct {
	Iters  uint64        // iterations per sample
	Warmup uint64        // iterations run (and discarded) while warming up
	Target time.Duration // the wanted duration of one sample
}

// maxIters caps the iterations of one run.
const maxIters = 1_000_000_000

// timeLoop runs loop(n) once and returns how long it took.
func timeLoop(loop func(uint64), n uint64) time.Duration {
	start := time.Now()
	loop(n)
	return time.Since(start)
}

// predict returns the iterations expected to take goal, given that n took d,
// like the testing package: 20% headroom, at most 100x n, at least n+1,
// rounded up to two significant digits and capped at maxIters.
func predict(n uint64, d, goal time.Duration) uint64 {
	var next float64
	if d <= 0 {
		next = 100 * float64(n)
	} else {
		next = float64(n) * float64(goal) / float64(d) * 1.2
	}
	next = math.Min(next, 100*float64(n))
	next = math.Max(next, float64(n+1))
	return min(roundUp(uint64(math.Ceil(next))), maxIters)
}

// roundUp rounds n up to at most two significant decimal digits.
func roundUp(n uint64) uint64 {
	p := uint64(1)
	for n/p >= 100 {
		p *= 10
	}
	return (n + p - 1) / p * p
}

// calibrate warms loop up for about target/10 (runs discarded), then grows
// the iteration count until one run lasts at least target and returns it.
// The caller has locked the OS thread and disabled the GC.
func calibrate(loop func(uint64), target time.Duration) Calibration {
	c := Calibration{Target: target}
	warm := target / 10
	n := uint64(1)
	var spent, d time.Duration
	for {
		d = timeLoop(loop, n)
		c.Warmup += n
		spent += d
		if spent >= warm || n >= maxIters {
			break
		}
		n = predict(n, d, warm)
	}
	for d < target && n < maxIters {
		n = predict(n, d, target)
		d = timeLoop(loop, n)
	}
	// Trim the headroom: aim at target from the last, longest run.
	if d > 0 {
		n = min(max(roundUp(uint64(float64(n)*float64(target)/float64(d))), 1), maxIters)
	}
	c.Iters = n
	return c
}

// measure calibrates b and calls sample for each of count samples.
func measure(ctx context.Context, b Benchmark, target time.Duration, count int,
	calibrated func(Calibration) error, sample func(iters uint64, nsPerOp float64) error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	runtime.GC()

	c := calibrate(b.Loop, target)
	if err := calibrated(c); err != nil {
		return err
	}
	for i := 0; i < count; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := timeLoop(b.Loop, c.Iters)
		if err := sample(c.Iters, float64(d.Nanoseconds())/float64(c.Iters)); err != nil {
			return err
		}
	}
	return nil
}

// runBenchmarks runs the benchmarks of p.Run and writes their lines to s.
// It stops after maxLines Benchmark lines when maxLines > 0.
func runBenchmarks(ctx context.Context, s *StreamWriter, p Params, maxLines int, log io.Writer) error {
	re, err := regexp.Compile(p.Run)
	if err != nil {
		return fmt.Errorf("kharness.run=%q: %v", p.Run, err)
	}
	errStop := fmt.Errorf("enough lines")
	for _, b := range Benchmarks() {
		full := "Benchmark" + b.Name
		if !re.MatchString(full) {
			continue
		}
		if b.Skip != nil {
			if why := b.Skip(); why != "" {
				if err := s.Skip(b.Name, why); err != nil {
					return err
				}
				continue
			}
		}
		fmt.Fprintf(log, "kguest: %s: calibrating (benchtime %v)\n", full, p.Benchtime)
		err := measure(ctx, b, p.Benchtime, p.Count,
			func(c Calibration) error {
				return s.Comment(fmt.Sprintf("calibrate %s iters=%d warmup=%d target=%v", full, c.Iters, c.Warmup, c.Target))
			},
			func(iters uint64, ns float64) error {
				if err := s.Result(b.Name, iters, ns); err != nil {
					return err
				}
				if maxLines > 0 && s.Count() >= maxLines {
					return errStop
				}
				return nil
			})
		if err == errStop {
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(log, "kguest: %s: done\n", full)
	}
	return nil
}
