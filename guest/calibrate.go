package guest

import (
	"fmt"
	"math"
	"time"
)

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
	return calibrateBy(func(n uint64) time.Duration { return timeLoop(loop, n) }, target)
}

// calibrateBy is calibrate with run(n) running the loop n times and
// returning how long it took.
func calibrateBy(run func(uint64) time.Duration, target time.Duration) Calibration {
	c := Calibration{Target: target}
	warm := target / 10
	n := uint64(1)
	var spent, d time.Duration
	for {
		d = run(n)
		c.Warmup += n
		spent += d
		if spent >= warm || n >= maxIters {
			break
		}
		n = predict(n, d, warm)
	}
	// Time n afresh: the first runs may have paid for cold caches or a
	// peer process still starting.
	d = run(n)
	for d < target && n < maxIters {
		n = predict(n, d, target)
		d = run(n)
	}
	// Trim the headroom: aim at target from the last, longest run.
	if d > 0 {
		n = min(max(roundUp(uint64(float64(n)*float64(target)/float64(d))), 1), maxIters)
	}
	c.Iters = n
	return c
}

// calibrateComment is the "# calibrate" line of a benchmark: what was
// chosen, and what is subtracted.
func calibrateComment(full string, c Calibration, in *Instance) string {
	t := fmt.Sprintf("calibrate %s iters=%d warmup=%d target=%v", full, c.Iters, c.Warmup, c.Target)
	if in.Ops > 1 {
		t += fmt.Sprintf(" ops-per-iter=%d", in.Ops)
	}
	if in.OverheadLoop != nil {
		t += " overhead=timed-beside-each-sample"
	} else if in.Overhead != 0 {
		t += fmt.Sprintf(" overhead=%.2fns/op", in.Overhead)
	}
	return t
}
