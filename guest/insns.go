//go:build linux

package guest

import (
	"fmt"
	"strings"
	"time"
	"unsafe"

	"kharness/results/wire"

	"golang.org/x/sys/unix"
)

// The count phase: under TCG with kharness's instruction-counting plugin
// loaded (kharness.insns=1), each benchmark ends with counted stretches
// bracketed by markers the plugin recognises (see marker_amd64.s). The
// plugin, not the guest, knows the counts: it writes them to a host file,
// and the host pairs them with the "insns" comment the guest writes here.
//
// Each rep counts a stretch of Iters iterations and one of 2*Iters; the
// host takes the count that recurs most for each length (an interrupt or
// another task only ever adds instructions to a stretch; the scheduler
// now and then takes another path) and divides the difference by
// Iters*Ops, which cancels what the stretch costs besides its loop (the
// calls around it, a block counted whole).

// InsnsReps is how many pairs of counted stretches a benchmark gets: enough
// that the path a pipe round trip or a switch usually takes recurs (the
// scheduler now and then takes a shorter or longer one).
const InsnsReps = 30

// InsnsSwitchReps is how many pairs of counted stretches a benchmark that
// switches to peer tasks gets, each of one iteration (see countPlan).
const InsnsSwitchReps = 100

// insnsStretch is about how long the shorter counted stretch lasts at the
// calibrated speed: short enough that most stretches see no timer tick
// (4 ms apart at HZ=250) even when the host slows the guest tenfold after
// calibration (a long stretch then lasts 2 ms, and 30 of them all hit is
// a chance in a billion). Guest time under TCG follows the host's clock,
// so a slow host means more ticks per instruction: a count is exact only
// if some stretch of each length saw none.
const insnsStretch = 100 * time.Microsecond

// Counted says what the count phase of one benchmark did.
type Counted struct {
	Iters uint64 // iterations of the shorter stretch; the longer has twice as many
	Ops   uint64 // operations per iteration
	Reps  int    // pairs of stretches
	Tag   string // the benchmark's wire.InsnsTag, sent to the plugin before its stretches
	// Clock is the kernel's clocksource as the phase ended, for a
	// benchmark with peer tasks ("" for others): a switch's path depends
	// on whether the kernel still trusts the TSC (see ClockDescribe).
	Clock string
}

// InsnsCommentPrefix starts the comment that describes a count phase.
const InsnsCommentPrefix = wire.InsnsCommentPrefix

// Comment is the stream comment for the count phase of benchmark full
// ("Benchmark..."): "insns BenchmarkX iters=K ops-per-iter=O reps=R",
// and " clock=NAME" where Clock is set.
func (c Counted) Comment(full string) string {
	s := fmt.Sprintf("%s%s iters=%d ops-per-iter=%d reps=%d", InsnsCommentPrefix, full, c.Iters, c.Ops, c.Reps)
	if c.Clock != "" {
		s += " clock=" + strings.Join(strings.Fields(c.Clock), "_")
	}
	return s
}

// countIters returns the shorter stretch's iterations for a benchmark
// calibrated to c: about insnsStretch's worth, rounded down to 1, 2 or 5
// times a power of ten, so that boots whose calibration differs a little
// count the same stretches (a few instructions around the loop are
// counted whole, and their share is a fraction of one over the iterations).
func countIters(c Calibration) uint64 {
	if c.Target <= 0 {
		return 1
	}
	k := uint64(float64(c.Iters) * float64(insnsStretch) / float64(c.Target))
	if k <= 1 {
		return 1
	}
	p := uint64(1)
	for p*10 <= k {
		p *= 10
	}
	switch {
	case k >= 5*p:
		return 5 * p
	case k >= 2*p:
		return 2 * p
	}
	return p
}

// countPlan is the count phase of a benchmark calibrated to c, of ops
// operations an iteration; switches says that it switches to peer tasks.
// Such a benchmark's stretches are one iteration long and there are
// InsnsSwitchReps pairs of them: even under SCHED_FIFO a switch now and
// then takes a longer or shorter way that depends on guest time, which
// under TCG is the host's (the RT class's load average, PELT, decays once
// every 1,024 µs: +61 instructions on 6.1; a task that ran for no time
// skips its accounting: -12 at each enqueue and dequeue on 7.3). Each
// iteration of a stretch has that chance, so the shortest stretches
// take the common way most often, and the most common count is the
// common way's; more pairs make the mode sure.
func countPlan(c Calibration, ops uint64, switches bool) Counted {
	if switches {
		return Counted{Iters: 1, Ops: ops, Reps: InsnsSwitchReps}
	}
	return Counted{Iters: countIters(c), Ops: ops, Reps: InsnsReps}
}

// planFor is the count phase of benchmark name (without "Benchmark")
// running as in, calibrated to c: countPlan, tagged with the name.
func planFor(c Calibration, in *Instance, name string) Counted {
	cn := countPlan(c, max(in.Ops, 1), len(in.Tasks) > 0)
	cn.Tag = wire.InsnsTag(name)
	return cn
}

// countPhase runs in's count phase cn under cp.Sched (when in has peer
// tasks) and calls cp.Done.
func countPhase(in *Instance, cn Counted, cp *CountPhase) error {
	restore, err := setCountSched(cp.Sched, in.Tasks)
	if err != nil {
		return err
	}
	err = countInsns(in, cn)
	if rerr := restore(); err == nil && rerr != nil {
		err = rerr
	}
	if err != nil {
		return err
	}
	cn.Clock = countClock(in)
	return cp.Done(cn)
}

// countClock is Counted.Clock for a count phase of in just ended: the
// kernel's clocksource where in has peer tasks, "" otherwise.
func countClock(in *Instance) string {
	if len(in.Tasks) == 0 {
		return ""
	}
	return readTrimmed(clocksourcePath)
}

// countInsns runs in's count phase: cn.Tag's digits and a bench marker,
// then cn.Reps pairs of stretches of cn.Iters and 2*cn.Iters iterations,
// each between a start and an end marker.
func countInsns(in *Instance, cn Counted) error {
	markTag(cn.Tag)
	markBench()
	short, long := cn.Iters, 2*cn.Iters
	stretch := func(n uint64) { countedStretch(in.Loop, n) }
	if in.CountStretch != nil {
		stretch = in.CountStretch
	}
	settle := func() {}
	if len(in.Tasks) > 0 {
		settle = func() {
			letOthersRun()
			in.Loop(1) // uncounted: what waking from the sleep costs lands here
		}
	}
	for r := 0; r < cn.Reps; r++ {
		settle()
		stretch(short)
		settle()
		stretch(long)
		if err := in.check(); err != nil {
			return err
		}
	}
	return nil
}

// settleTime is how long letOthersRun sleeps.
const settleTime = 500 * time.Microsecond

// letOthersRun sleeps for settleTime before a stretch of a benchmark with
// peer tasks, all of them then blocked, so that every other task that is
// runnable (a Go runtime thread of this process, a kernel thread) runs
// now and not during the stretch. Under SCHED_FIFO the benchmark and its
// peers would otherwise starve such a task until the count phase ends,
// and while it waits each wakeup and switch takes another way (7.3's
// enqueue and dequeue check the root domain's overload when the run
// queue holds more than one task: 24 more instructions a round trip).
// It sleeps in nanosleep, not in Go's timers, so that the thread itself
// blocks and no other thread of this process need wake it.
func letOthersRun() {
	ts := unix.NsecToTimespec(settleTime.Nanoseconds())
	for {
		_, _, e := unix.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), uintptr(unsafe.Pointer(&ts)), 0)
		if e != unix.EINTR {
			return
		}
	}
}

// countedStretch runs loop(n) between a start and an end marker. Both
// lengths go through this one function, so that the instructions between
// the markers besides the loop's own are the same for both (computing the
// longer length between the markers put two more into every long stretch).
//
//go:noinline
func countedStretch(loop func(uint64), n uint64) {
	markStart()
	loop(n)
	markEnd()
}

// markTag sends the plugin tag's hex digits, one marker each, which it
// writes on the line of the benchmark marker that follows: the host pairs
// the plugin's stretches with the guest's comment by it.
func markTag(tag string) {
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			continue // not a hex digit: the tag the host gets is wrong, and the boot fails
		}
		if f := markDigits[c]; f != nil {
			f()
		}
	}
}
