//go:build linux

package guest

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestCountSchedNames(t *testing.T) {
	for _, s := range CountScheds {
		if !s.Known() {
			t.Errorf("%q not known", s)
		}
		if d := s.Describe(); !strings.HasPrefix(d, string(s)+":") {
			t.Errorf("%q describes itself as %q: want its name first", s, d)
		}
	}
	if CountSched("rr").Known() {
		t.Error(`"rr" known`)
	}
	// A boot whose command line names no policy counts under the default,
	// and its stream says which.
	if got := CountSched("").Describe(); got != DefaultCountSched.Describe() {
		t.Errorf(`"" describes itself as %q, want the default's %q`, got, DefaultCountSched.Describe())
	}
	if a := CountSched("").attr(); a.Policy != unix.SCHED_FIFO || a.Priority != 1 {
		t.Errorf(`"" sets policy %d priority %d, want SCHED_FIFO 1`, a.Policy, a.Priority)
	}
	if a := CountSchedBatch.attr(); a.Policy != unix.SCHED_BATCH || a.Priority != 0 {
		t.Errorf("batch sets policy %d priority %d, want SCHED_BATCH 0", a.Policy, a.Priority)
	}
}

func TestCountPlan(t *testing.T) {
	c := Calibration{Iters: 100_000, Target: 100 * time.Millisecond}
	if got := countPlan(c, 2, true); got != (Counted{Iters: 1, Ops: 2, Reps: InsnsSwitchReps}) {
		t.Errorf("a switching benchmark counts %+v, want 1 iteration a stretch, %d pairs", got, InsnsSwitchReps)
	}
	if got := countPlan(c, 1, false); got != (Counted{Iters: 100, Ops: 1, Reps: InsnsReps}) {
		t.Errorf("a benchmark with no peers counts %+v, want 100 iterations (0.1 ms), %d pairs", got, InsnsReps)
	}
}

// policyOf returns tid's scheduling policy and priority.
func policyOf(t *testing.T, tid int) (uint32, uint32) {
	t.Helper()
	a, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		t.Fatalf("sched_getattr(%d): %v", tid, err)
	}
	return a.Policy, a.Priority
}

// TestSetCountSched puts a peer thread and the calling thread under each
// policy and back, as the count phase does.
func TestSetCountSched(t *testing.T) {
	peer, quit := make(chan int), make(chan struct{})
	go func() {
		runtime.LockOSThread() // dies with the goroutine: never shared
		peer <- unix.Gettid()
		<-quit
	}()
	defer close(quit)
	tid := <-peer
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self := unix.Gettid()
	for _, tc := range []struct {
		s        CountSched
		policy   uint32
		priority uint32
	}{
		{CountSchedFIFO, unix.SCHED_FIFO, 1},
		{CountSchedBatch, unix.SCHED_BATCH, 0},
		{CountSchedDefault, unix.SCHED_NORMAL, 0},
	} {
		restore, err := setCountSched(tc.s, []int{tid})
		if errors.Is(err, unix.EPERM) {
			t.Skipf("no CAP_SYS_NICE here: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, who := range []int{self, tid} {
			if p, pri := policyOf(t, who); p != tc.policy || pri != tc.priority {
				t.Errorf("%s: task %d has policy %d priority %d, want %d %d", tc.s, who, p, pri, tc.policy, tc.priority)
			}
		}
		if err := restore(); err != nil {
			t.Fatal(err)
		}
		for _, who := range []int{self, tid} {
			if p, _ := policyOf(t, who); p != unix.SCHED_NORMAL {
				t.Errorf("%s: task %d has policy %d after restore, want SCHED_OTHER", tc.s, who, p)
			}
		}
	}
	// A benchmark with no peer tasks keeps the timed samples' policy.
	restore, err := setCountSched(CountSchedFIFO, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := policyOf(t, self); p != unix.SCHED_NORMAL {
		t.Errorf("no peers: policy %d, want SCHED_OTHER untouched", p)
	}
	restore()
	// A task that is gone is an error that names the count phase.
	if _, err := setCountSched(CountSchedFIFO, []int{1 << 30}); err == nil || !strings.Contains(err.Error(), "count phase") {
		t.Errorf("a task that does not exist: %v", err)
	}
	if p, _ := policyOf(t, self); p != unix.SCHED_NORMAL {
		t.Errorf("after a failed change the calling thread has policy %d, want SCHED_OTHER again", p)
	}
}
