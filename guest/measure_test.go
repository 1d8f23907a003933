//go:build linux

package guest

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestRoundUp(t *testing.T) {
	for in, want := range map[uint64]uint64{0: 0, 1: 1, 99: 99, 100: 100, 101: 110, 999: 1000, 1001: 1100, 123456: 130000} {
		if got := roundUp(in); got != want {
			t.Errorf("roundUp(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestPredict(t *testing.T) {
	for _, tc := range []struct {
		n        uint64
		d, goal  time.Duration
		min, max uint64
	}{
		{1, 0, time.Second, 100, 100},               // no time measured: 100x
		{1, time.Nanosecond, time.Second, 100, 100}, // growth capped at 100x
		{1000, time.Millisecond, 10 * time.Millisecond, 12000, 12000},
		{1000, time.Second, time.Millisecond, 1001, 1100}, // never shrinks
		{maxIters, time.Millisecond, time.Second, maxIters, maxIters},
	} {
		if got := predict(tc.n, tc.d, tc.goal); got < tc.min || got > tc.max {
			t.Errorf("predict(%d, %v, %v) = %d, want in [%d, %d]", tc.n, tc.d, tc.goal, got, tc.min, tc.max)
		}
	}
}

// spin busy-waits about perOp per iteration, like a syscall loop would.
func spin(perOp time.Duration) func(uint64) {
	return func(n uint64) {
		end := time.Now().Add(time.Duration(n) * perOp)
		for time.Now().Before(end) {
		}
	}
}

func TestCalibrate(t *testing.T) {
	target := 20 * time.Millisecond
	// Runs timed on a clock of their own (1 µs an iteration, and the first
	// runs dearer, as cold caches make them), so that no host load moves
	// the answer: about target/1µs = 20000 iterations.
	var runs []uint64
	run := func(n uint64) time.Duration {
		runs = append(runs, n)
		d := time.Duration(n) * time.Microsecond
		if len(runs) <= 2 {
			d *= 3
		}
		return d
	}
	c := calibrateBy(run, target)
	if c.Target != target || c.Warmup == 0 {
		t.Fatalf("calibration %+v", c)
	}
	if c.Iters != 20000 {
		t.Errorf("iters %d for 1µs ops and a %v target, want 20000 (runs %v)", c.Iters, target, runs)
	}
	if last := runs[len(runs)-1]; time.Duration(last)*time.Microsecond < target {
		t.Errorf("the last run, of %d iterations, was shorter than the target: runs %v", last, runs)
	}
	// A run slowed threefold (the host took the CPU away) trims to fewer.
	slow := calibrateBy(func(n uint64) time.Duration { return 3 * time.Duration(n) * time.Microsecond }, target)
	if slow.Iters >= c.Iters {
		t.Errorf("iters %d at 3 µs an op, want fewer than %d", slow.Iters, c.Iters)
	}
}

func TestMeasure(t *testing.T) {
	var cal Calibration
	var samples []float64
	err := Measure(context.Background(), testSuite().Benchmarks[0], 10*time.Millisecond, 3,
		func(c Calibration, _ *Instance) error { cal = c; return nil },
		func(s Sample) error {
			if s.Iters != cal.Iters {
				t.Errorf("sample of %d iters, calibrated %d", s.Iters, cal.Iters)
			}
			samples = append(samples, s.NsPerOp)
			return nil
		}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cal.Iters == 0 || len(samples) != 3 {
		t.Fatalf("calibration %+v, %d samples", cal, len(samples))
	}
	for _, ns := range samples {
		if !(ns > 0 && ns < 1_000_000) {
			t.Errorf("getppid %v ns/op, want in (0, 1ms)", ns)
		}
	}
	t.Logf("getppid: %+v, ns/op %.1f", cal, samples)
}

// TestOnOwnThreadFiles checks that a benchmark thread's descriptors are
// its own (another goroutine, on another thread, cannot see one it
// opens) unless it shares them for threads of its own.
func TestOnOwnThreadFiles(t *testing.T) {
	for _, shared := range []bool{false, true} {
		var seen error
		err := onOwnThread(shared, func() error {
			fd0, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd0)
			// A high number, which the shared table does not use.
			fd, err := unix.FcntlInt(uintptr(fd0), unix.F_DUPFD_CLOEXEC, 900)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			done := make(chan error)
			go func() { // not locked: never on the benchmark's thread
				_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
				done <- err
			}()
			seen = <-done
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]error{false: unix.EBADF, true: nil}[shared]; seen != want {
			t.Errorf("shared=%v: another thread's fcntl on the benchmark's descriptor: %v, want %v", shared, seen, want)
		}
	}
}

// TestCountIters checks the count phase's stretch: a tenth of a
// millisecond's worth at the calibrated rate, on the 1-2-5 ladder.
func TestCountIters(t *testing.T) {
	for _, tc := range []struct {
		iters uint64
		want  uint64
	}{{180000, 100}, {200000, 200}, {1100, 1}, {930, 1}, {1, 1}, {1000, 1}, {2000, 2}, {9999, 5}, {4_000_000, 2000}} {
		got := countIters(Calibration{Iters: tc.iters, Target: 100 * time.Millisecond})
		if got != tc.want {
			t.Errorf("countIters(%d iters in 100ms) = %d, want %d", tc.iters, got, tc.want)
		}
	}
}

// TestOverheadBesideEachSample: an overhead timed beside every sample is
// subtracted sample by sample, and a sample whose overhead is not below
// its total is a failed sample with the reason, never a 0 or less.
func TestOverheadBesideEachSample(t *testing.T) {
	spin := func(d time.Duration) func(uint64) {
		return func(n uint64) {
			end := time.Now().Add(time.Duration(n) * d)
			for time.Now().Before(end) {
			}
		}
	}
	for _, tc := range []struct {
		name       string
		loop, over time.Duration
		fail       bool
	}{
		{"overhead below the total", 20 * time.Microsecond, 5 * time.Microsecond, false},
		{"overhead above the total", 1 * time.Microsecond, 100 * time.Microsecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := Benchmark{Name: "Fake", Start: func(time.Duration) (*Instance, error) {
				return &Instance{Loop: spin(tc.loop), OverheadLoop: spin(tc.over)}, nil
			}}
			var got []Sample
			err := Measure(context.Background(), b, 2*time.Millisecond, 3,
				func(Calibration, *Instance) error { return nil },
				func(s Sample) error { got = append(got, s); return nil }, nil)
			if err != nil {
				t.Fatal(err)
			}
			good := 0
			for _, s := range got {
				var raw, ov float64
				for _, v := range s.Extra {
					switch v.Unit {
					case "raw-ns/op":
						raw = v.V
					case OverheadUnit:
						ov = v.V
					}
				}
				switch {
				case tc.fail && (s.Failed == "" || !strings.Contains(s.Failed, "not below the total")):
					t.Errorf("sample %+v: want a failed sample", s)
				case !tc.fail && s.Failed != "":
					// A host that deschedules the short overhead loop can
					// make it read above the total: then, and only then,
					// the sample fails, saying so.
					if !strings.Contains(s.Failed, "not below the total") || ov < raw {
						t.Errorf("sample %+v: failed without its overhead reaching the total", s)
					}
				case !tc.fail && (s.NsPerOp <= 0 || raw == 0 || ov == 0 || math.Abs(s.NsPerOp-(raw-ov)) > 1e-6):
					t.Errorf("sample %+v: want raw %v less overhead %v", s, raw, ov)
				default:
					good++
				}
			}
			if !tc.fail && good == 0 {
				t.Errorf("no sample of %d came out as raw less overhead", len(got))
			}
		})
	}
}
