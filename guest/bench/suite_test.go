//go:build linux

package bench

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"kharness/guest"
)

// The host validator's alphabets (results.ValidName and ValidUnit).
var (
	nameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_/=.,:+-]*$`)
	unitRE = regexp.MustCompile(`^[A-Za-z0-9/_%.-]{1,32}$`)
)

// TestSuiteHost runs every benchmark of the suite on the host kernel, with
// short samples, and checks what each one reports.
func TestSuiteHost(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole suite (about 15 s)")
	}
	seen := map[string]bool{}
	for _, b := range Benchmarks() {
		if seen[b.Name] || !nameRE.MatchString(b.Name) || strings.Contains(b.Name, "..") {
			t.Errorf("bad or duplicate name %q", b.Name)
		}
		seen[b.Name] = true
		t.Run(b.Name, func(t *testing.T) {
			if b.Skip != nil {
				if why := b.Skip(); why != "" {
					t.Skipf("skip: %s", why)
				}
			}
			var cal guest.Calibration
			var ov float64
			var counted guest.Counted
			n := 0
			err := guest.Measure(context.Background(), b, 5*time.Millisecond, 2,
				func(c guest.Calibration, in *guest.Instance) error {
					cal, ov = c, in.Overhead
					t.Logf("calibrated %+v, overhead %v ns/op", c, in.Overhead)
					return nil
				},
				func(s guest.Sample) error {
					n++
					if s.Failed != "" {
						// On a loaded or nested host a thread hop and a pipe
						// write and read can cost alike: no number, a reason.
						if !strings.Contains(s.Failed, "not below the total") || s.NsPerOp > 0 {
							t.Errorf("failed sample %+v", s)
						}
						t.Logf("failed sample: %s", s.Failed)
						return nil
					}
					if s.Iters < cal.Iters || !(s.NsPerOp+ov > 0 && s.NsPerOp < 1e10) {
						t.Errorf("sample %+v", s)
					}
					for _, v := range s.Extra {
						if !unitRE.MatchString(v.Unit) || v.V < 0 {
							t.Errorf("extra value %v %q", v.V, v.Unit)
						}
					}
					if b.Counters && len(s.Extra) < 2 {
						t.Errorf("no /proc/stat counters: %+v", s.Extra)
					}
					t.Logf("%d ops %.1f ns/op %v", s.Iters, s.NsPerOp, s.Extra)
					return nil
				},
				// The counted stretches run too (their markers are no-ops
				// here): every benchmark's loop must take the short lengths,
				// under the guest's count policy where we may set it.
				&guest.CountPhase{Sched: testCountSched(), Done: func(cn guest.Counted) error {
					counted = cn
					return nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Errorf("%d samples", n)
			}
			if counted.Iters < 1 || counted.Iters > cal.Iters || (counted.Reps != guest.InsnsReps && counted.Reps != guest.InsnsSwitchReps) || counted.Ops < 1 {
				t.Errorf("counted %+v (calibrated %d iterations)", counted, cal.Iters)
			}
		})
	}
}

// TestSchedYield runs the sched_yield benchmark as a stream does, count
// phase included: every call returns 0 and, with no peer tasks, its count
// plan is that of a plain system call.
func TestSchedYield(t *testing.T) {
	var b guest.Benchmark
	for _, c := range Benchmarks() {
		if c.Name == "SchedYield/procs=1" {
			b = c
		}
	}
	if b.Start == nil {
		t.Fatal("no SchedYield/procs=1 in the suite")
	}
	var counted guest.Counted
	samples := 0
	err := guest.Measure(context.Background(), b, 5*time.Millisecond, 2,
		func(guest.Calibration, *guest.Instance) error { return nil },
		func(s guest.Sample) error {
			samples++
			if s.Failed != "" || s.Iters == 0 || !(s.NsPerOp > 0) {
				t.Errorf("sample %+v", s)
			}
			return nil
		},
		&guest.CountPhase{Sched: testCountSched(), Done: func(cn guest.Counted) error { counted = cn; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if samples != 2 || counted.Reps != guest.InsnsReps || counted.Ops != 1 || counted.Iters < 1 {
		t.Errorf("%d samples, counted %+v; want 2 and the plan of a plain call (%d reps, 1 op)", samples, counted, guest.InsnsReps)
	}
}

func TestGetppidLoopNoAlloc(t *testing.T) {
	getppidLoop(0)
	getppidLoop(1)
	if n := testing.AllocsPerRun(10, func() { getppidLoop(100) }); n != 0 {
		t.Errorf("%v allocations per loop", n)
	}
}

// TestSuiteStream runs a few benchmarks of each kind into a stream and
// checks that every line parses: names, several value-unit pairs.
func TestSuiteStream(t *testing.T) {
	p := guest.Params{Run: "getppid$|Read/|PipeRoundTrip|CtxSwitch/procs=2/ws=0KiB|vsyscall", Benchtime: 5 * time.Millisecond, Count: 2, Mode: guest.ModeBench}
	var buf bytes.Buffer
	if err := guest.WriteStream(context.Background(), &buf, Suite(), p, guest.SystemConfig(Suite(), p), io.Discard); err != nil {
		t.Fatal(err)
	}
	lines, skips := 0, 0
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.HasPrefix(line, "# skip Benchmark") {
			skips++
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		lines++
		f := strings.Fields(line)
		if len(f) < 4 || len(f)%2 != 0 || !nameRE.MatchString(strings.TrimPrefix(f[0], "Benchmark")) {
			t.Errorf("line %q", line)
			continue
		}
		for i := 2; i < len(f); i += 2 {
			if _, err := strconv.ParseFloat(f[i], 64); err != nil || !unitRE.MatchString(f[i+1]) {
				t.Errorf("line %q: value %q unit %q", line, f[i], f[i+1])
			}
		}
		if strings.Contains(line, "CtxSwitch") && !(strings.Contains(line, " raw-ns/op") && strings.Contains(line, " ctxsw/s")) {
			t.Errorf("lat_ctx line without raw-ns/op and counters: %q", line)
		}
	}
	if lines+2*skips < 8 {
		t.Errorf("%d lines, %d skips:\n%s", lines, skips, buf.String())
	}
	t.Logf("\n%s", buf.String())
}

// testCountSched is the count policy the host tests run the count phase
// under: the guest's, where this process may set it (root), else the
// default.
func testCountSched() guest.CountSched {
	if os.Geteuid() == 0 {
		return guest.DefaultParams().CountSched
	}
	return guest.CountSchedDefault
}
