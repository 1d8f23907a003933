//go:build linux

package guest

import (
	"errors"
	"fmt"

	"kharness/results/wire"

	"golang.org/x/sys/unix"
)

// CountSched is the scheduling policy under which a benchmark that
// switches between tasks (a peer process or thread: the pipe, socket and
// lat_ctx round trips) runs its count phase. Its timed samples always run
// under the default policy, as users run.
//
// Under TCG the guest's clock follows the host's, and the fair scheduler
// reads that clock to decide whether a wakeup preempts the waker, when a
// slice ends and (EEVDF) which task is eligible: under the default policy
// the path of one round trip, and so its count, changes with host speed.
// Under SCHED_FIFO at one priority a wakeup of a task of equal priority
// never preempts, no time slice ends, and the next task is the first of a
// FIFO queue: the waker runs on until it blocks in its read, and the task
// it woke runs next. No clock enters that path.
type CountSched string

// The count-phase policies (kharness.countsched=).
const (
	// CountSchedFIFO is SCHED_FIFO, priority 1: the default.
	CountSchedFIFO CountSched = "fifo"
	// CountSchedBatch is SCHED_BATCH: the fair class without wakeup
	// preemption, but with its clock-driven slices and eligibility.
	CountSchedBatch CountSched = "batch"
	// CountSchedDefault leaves the default policy (SCHED_OTHER), as the
	// timed samples have: the count then follows the host's speed.
	CountSchedDefault CountSched = "default"
)

// DefaultCountSched is the policy of a boot whose command line names none.
const DefaultCountSched = CountSchedFIFO

// CountScheds lists the policies.
var CountScheds = []CountSched{CountSchedFIFO, CountSchedBatch, CountSchedDefault}

// CountSchedKey is the stream header key that records the policy of the
// count phase of switching benchmarks, kept in every boot's boot.bench.
const CountSchedKey = wire.InsnsSchedKey

// effective is s, or DefaultCountSched for "".
func (s CountSched) effective() CountSched {
	if s == "" {
		return DefaultCountSched
	}
	return s
}

// Known reports whether s is one of CountScheds.
func (s CountSched) Known() bool {
	for _, k := range CountScheds {
		if s == k {
			return true
		}
	}
	return false
}

// Describe is the value of CountSchedKey for s.
func (s CountSched) Describe() string {
	switch s.effective() {
	case CountSchedFIFO:
		return "fifo: the count phase of benchmarks with peer tasks runs them all under SCHED_FIFO priority 1; timed samples under SCHED_OTHER"
	case CountSchedBatch:
		return "batch: the count phase of benchmarks with peer tasks runs them all under SCHED_BATCH; timed samples under SCHED_OTHER"
	}
	return "default: every phase under SCHED_OTHER"
}

// attr is the sched_setattr argument for s.
func (s CountSched) attr() unix.SchedAttr {
	a := unix.SchedAttr{Size: unix.SizeofSchedAttr}
	switch s.effective() {
	case CountSchedFIFO:
		a.Policy, a.Priority = unix.SCHED_FIFO, 1
	case CountSchedBatch:
		a.Policy = unix.SCHED_BATCH
	default:
		a.Policy = unix.SCHED_NORMAL
	}
	return a
}

// setCountSched puts the calling thread (tid 0) and tasks under s and
// returns a function that puts them back under SCHED_OTHER. With
// CountSchedDefault, or no tasks, it does nothing: a benchmark that does
// not switch keeps the timed samples' policy. On an error the tasks
// already changed are put back.
func setCountSched(s CountSched, tasks []int) (restore func() error, err error) {
	nop := func() error { return nil }
	s = s.effective()
	if s == CountSchedDefault || len(tasks) == 0 {
		return nop, nil
	}
	all := append([]int{0}, tasks...)
	back := func(n int) error {
		other := CountSchedDefault.attr()
		var errs []error
		for _, t := range all[:n] {
			if err := unix.SchedSetAttr(t, &other, 0); err != nil && err != unix.ESRCH {
				errs = append(errs, fmt.Errorf("sched_setattr(%d, SCHED_OTHER): %w", t, err))
			}
		}
		return errors.Join(errs...)
	}
	a := s.attr()
	for i, t := range all {
		if err := unix.SchedSetAttr(t, &a, 0); err != nil {
			return nop, errors.Join(fmt.Errorf("count phase: sched_setattr(%d, %s): %w", t, s, err), back(i))
		}
	}
	return func() error { return back(len(all)) }, nil
}
