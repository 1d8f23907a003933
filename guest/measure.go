//go:build linux

package guest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"runtime/debug"
	"time"

	"kharness/results/wire"

	"golang.org/x/sys/unix"
)

// Benchmark is one entry of the suite.
type Benchmark struct {
	// Name is printed after "Benchmark", e.g. "NullSyscall/call=getppid".
	Name string
	// Loop runs the measured operation n times. It must not allocate.
	// Benchmarks that need set-up (files, peer processes) use Start instead.
	Loop func(n uint64)
	// Start, if not nil, sets the benchmark up on the locked OS thread that
	// will time it, for samples of about target.
	Start func(target time.Duration) (*Instance, error)
	// Skip, if not nil, returns a non-empty reason when the benchmark cannot
	// run on this system.
	Skip func() string
	// Counters adds the /proc/stat counters of each sample (context
	// switches and interrupts per second, user/system/idle share) to its line.
	Counters bool
	// Threads says that the benchmark runs threads of this process, which
	// must see its descriptors: its thread keeps the shared descriptor
	// table (see onOwnThread).
	Threads bool
	// Kref, when not empty, is the case of the C reference
	// (fidelity/kref.c) that makes the same operation: the fidelity check
	// runs the two in turn (see runFidelity).
	Kref string
}

// Suite is what the machinery runs: a program's benchmarks, given as a
// value. The machinery never names a benchmark itself; kguest's are in
// package guest/bench, and cmd/kguest hands them over.
type Suite struct {
	// Benchmarks are the suite, in the order they run.
	Benchmarks []Benchmark
	// Header, if not nil, returns configuration lines for the stream's
	// header of a run of the benchmarks selected (those the run pattern
	// matches; none in a probe), placed after the machinery's own lines
	// and before the vulnerabilities. Benchmarks not selected cost nothing.
	Header func(selected []Benchmark) []ConfigPair
}

// selected returns the benchmarks of s that p runs: those p.Run
// matches, none in a probe or with a pattern that does not compile.
func (s Suite) selected(p Params) []Benchmark {
	if p.Mode == ModeProbe {
		return nil
	}
	re, err := regexp.Compile(p.Run)
	if err != nil {
		return nil
	}
	var out []Benchmark
	for _, b := range s.Benchmarks {
		if re.MatchString("Benchmark" + b.Name) {
			out = append(out, b)
		}
	}
	return out
}

// onOwnThread runs f on a new OS thread that ends with it, with the GC
// off. Unless shared, the thread first takes a descriptor table of its
// own (unshare(CLONE_FILES)), as a single-threaded C benchmark has: in a
// process whose table several threads share, as every Go process's is,
// each read or write takes and drops a reference on its file (fdget's
// fast path is for an unshared table), which under TCG added 10-35% to a
// 1-byte read or write against the C reference. The thread is never
// unlocked, so it exits with f's goroutine and no other goroutine ever
// runs with its table. What f opens and closes stays in that table; peer
// processes forked or exec'd from it inherit it.
func onOwnThread(shared bool, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with this goroutine
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
		if !shared {
			if err := unix.Unshare(unix.CLONE_FILES); err != nil {
				errc <- fmt.Errorf("unshare(CLONE_FILES): %w", err)
				return
			}
		}
		errc <- f()
	}()
	return <-errc
}

// Instance is a started benchmark.
type Instance struct {
	// Loop runs n iterations. It must not allocate.
	Loop func(n uint64)
	// Ops is the number of operations one iteration makes (lat_ctx: one
	// per process in the ring); 0 means 1. Results are per operation.
	Ops uint64
	// Overhead, in ns per operation, is subtracted from each sample, as
	// LMbench subtracts the pipe overhead of lat_ctx. When it is not zero
	// the line also carries the unsubtracted time as "raw-ns/op".
	Overhead float64
	// OverheadLoop, if not nil, runs n operations of the overhead itself.
	// It is timed right after every sample, for as many operations, and
	// that time is subtracted instead of Overhead: a slow stretch of the
	// host then hits both halves of the difference, not one (an overhead
	// measured once, at calibration, read 3.3 µs in one boot and 45 µs in
	// another, and left 0 or less to report). The line carries both
	// halves, "raw-ns/op" and "overhead-ns/op"; a sample whose overhead is
	// not below its total is a failed sample, with the reason, not a 0.
	OverheadLoop func(n uint64)
	// Bytes, when not zero, is the number of bytes one operation moves;
	// the line then also carries the throughput in MB/s.
	Bytes uint64
	// Err, if not nil, reports a failure of the loops run so far.
	Err func() error
	// Stop, if not nil, tears the set-up down.
	Stop func() error
	// Extra, if not nil, returns more values for the line of a sample of
	// n operations just taken, computed after its time (per-call
	// percentiles).
	Extra func(n uint64) []Value
	// CountStretch, if not nil, runs a counted stretch of n iterations
	// between the counting plugin's markers itself, for a benchmark whose
	// loop runs in another process (the 32-bit helper): the count phase
	// then leaves its own markers out, so that the request's round trip
	// is not counted.
	CountStretch func(n uint64)
	// Tasks are the thread ids of the peer tasks (processes or threads)
	// the benchmark switches to: the count phase puts them, and the
	// benchmark's own thread, under its scheduling policy (see CountSched).
	Tasks []int
}

// start returns b's Instance.
func (b Benchmark) start(target time.Duration) (*Instance, error) {
	if b.Start != nil {
		return b.Start(target)
	}
	return &Instance{Loop: b.Loop}, nil
}

// OverheadUnit is the unit of the overhead timed beside a sample.
const OverheadUnit = wire.OverheadUnit

// subtracts reports whether in's samples have an overhead subtracted.
func (in *Instance) subtracts() bool { return in.Overhead != 0 || in.OverheadLoop != nil }

// overheadNow returns the overhead per operation to subtract from a sample
// of n operations just taken: the overhead loop timed now over n
// operations, or the fixed Overhead.
func (in *Instance) overheadNow(n uint64) float64 {
	if in.OverheadLoop == nil {
		return in.Overhead
	}
	return float64(timeLoop(in.OverheadLoop, n).Nanoseconds()) / float64(n)
}

// check returns the error of the loops run so far.
func (in *Instance) check() error {
	if in.Err == nil {
		return nil
	}
	return in.Err()
}

// stop tears in down.
func (in *Instance) stop() error {
	if in.Stop == nil {
		return nil
	}
	return in.Stop()
}

// Sample is one timed run of a benchmark.
type Sample struct {
	Iters   uint64  // operations timed
	NsPerOp float64 // after subtracting the instance's overhead
	Extra   []Value // further value-unit pairs for the line
	// Failed, when not empty, says why the sample has no number: the
	// stream gets a "failed-sample" comment with it instead of a line.
	Failed string
}

// CountPhase asks measure for a count phase after the timed samples.
type CountPhase struct {
	// Sched is the policy of the phase of a benchmark with peer tasks.
	Sched CountSched
	// Done is called with what the phase did.
	Done func(Counted) error
}

// Measure starts b, calibrates it and calls sample for each of count
// samples, on its own OS thread with the GC off (see onOwnThread). When
// counted is not nil, it then runs the counted stretches of the
// instruction-counting plugin (see countInsns) and calls counted.Done.
// It is what a stream does with each benchmark, less the lines; a set-up
// that fails is an error that says "setting up".
func Measure(ctx context.Context, b Benchmark, target time.Duration, count int,
	calibrated func(Calibration, *Instance) error, sample func(Sample) error, counted *CountPhase) error {
	runtime.GC()
	return onOwnThread(b.Threads, func() error { return measureOn(ctx, b, target, count, calibrated, sample, counted) })
}

// measureOn is measure on the benchmark's thread.
func measureOn(ctx context.Context, b Benchmark, target time.Duration, count int,
	calibrated func(Calibration, *Instance) error, sample func(Sample) error, counted *CountPhase) (err error) {

	in, err := b.start(target)
	if err != nil {
		return &startError{err}
	}
	defer func() {
		if serr := in.stop(); err == nil && serr != nil {
			err = serr
		}
	}()
	c := calibrate(in.Loop, target)
	if err := in.check(); err != nil {
		return err
	}
	if err := calibrated(c, in); err != nil {
		return err
	}
	ops := max(in.Ops, 1)
	hostRef() // warm: the first run after a benchmark's set-up reads slower
	ref := hostRef()
	for i := 0; i < count; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		var before procStat
		if b.Counters {
			before = readProcStat()
		}
		d := timeLoop(in.Loop, c.Iters)
		if err := in.check(); err != nil {
			return err
		}
		raw := float64(d.Nanoseconds()) / float64(c.Iters*ops)
		ov := in.overheadNow(c.Iters * ops)
		if err := in.check(); err != nil {
			return err
		}
		s := Sample{Iters: c.Iters * ops, NsPerOp: raw - ov}
		if in.subtracts() {
			s.Extra = append(s.Extra, Value{raw, wire.RawUnit})
			if in.OverheadLoop != nil {
				s.Extra = append(s.Extra, Value{ov, OverheadUnit})
			}
			if s.NsPerOp <= 0 {
				s.Failed = fmt.Sprintf("the overhead (%.1f ns/op) is not below the total (%.1f ns/op): nothing left to report", ov, raw)
			}
		}
		if in.Bytes != 0 && raw > 0 {
			s.Extra = append(s.Extra, Value{float64(in.Bytes) / raw * 1e3, "MB/s"})
		}
		if b.Counters {
			s.Extra = append(s.Extra, counterValues(before, readProcStat(), d)...)
		}
		if in.Extra != nil {
			s.Extra = append(s.Extra, in.Extra(c.Iters*ops)...)
		}
		after := hostRef()
		s.Extra = append(s.Extra, Value{max(ref, after), RefUnit})
		ref = after
		if err := sample(s); err != nil {
			return err
		}
	}
	if counted == nil {
		return nil
	}
	return countPhase(in, planFor(c, in, b.Name), counted)
}

// FailedSamplePrefix starts the comment that stands for a sample with no
// number: "failed-sample BenchmarkX: reason".
const FailedSamplePrefix = wire.FailedSamplePrefix

// startError is a benchmark that could not be set up: it is skipped, with
// the reason, rather than failing the stream.
type startError struct{ err error }

func (e *startError) Error() string { return "setting up: " + e.err.Error() }

// runBenchmarks runs the benchmarks of suite that p.Run matches and writes their lines to s.
// It stops after maxLines Benchmark lines when maxLines > 0.
func runBenchmarks(ctx context.Context, s *StreamWriter, suite Suite, p Params, maxLines int, log io.Writer) error {
	re, err := regexp.Compile(p.Run)
	if err != nil {
		return fmt.Errorf("kharness.run=%q: %v", p.Run, err)
	}
	errStop := fmt.Errorf("enough lines")
	for _, b := range suite.Benchmarks {
		full := "Benchmark" + b.Name
		if !re.MatchString(full) {
			continue
		}
		if why := skipReason(b); why != "" {
			if err := s.Skip(b.Name, why); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(log, "kguest: %s: calibrating (benchtime %v)\n", full, p.Benchtime)
		var counted *CountPhase
		if p.Insns {
			counted = &CountPhase{Sched: p.CountSched, Done: func(cn Counted) error { return s.Comment(cn.Comment(full)) }}
		}
		err := Measure(ctx, b, p.Benchtime, p.Count,
			func(c Calibration, in *Instance) error {
				return s.Comment(calibrateComment(full, c, in))
			},
			func(smp Sample) error {
				if smp.Failed != "" {
					return s.Comment(FailedSamplePrefix + full + ": " + smp.Failed)
				}
				if err := s.ResultValues(b.Name, smp.Iters, append([]Value{{smp.NsPerOp, "ns/op"}}, smp.Extra...)); err != nil {
					return err
				}
				if maxLines > 0 && s.Count() >= maxLines {
					return errStop
				}
				return nil
			}, counted)
		var se *startError
		if errors.As(err, &se) {
			fmt.Fprintf(log, "kguest: %s: %v\n", full, err)
			if err := s.Skip(b.Name, err.Error()); err != nil {
				return err
			}
			continue
		}
		if err == errStop {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", full, err)
		}
		fmt.Fprintf(log, "kguest: %s: done\n", full)
	}
	return nil
}

// skipReason returns why b cannot run here, or "".
func skipReason(b Benchmark) string {
	if b.Skip != nil {
		return b.Skip()
	}
	return ""
}
