package harness

import (
	"runtime"
	"strings"
	"testing"
)

// The automatic -j leaves QEMU's own threads a core on small hosts and
// gives way to other work, but always runs something.
func TestAutoJobs(t *testing.T) {
	for _, tc := range []struct {
		cores, smp int
		load       float64
		want       int
	}{
		{2, 1, 0, 1},
		{2, 1, 0.6, 1}, // a hog at half a core: still one VM
		{4, 1, 0, 3},
		{4, 2, 0, 1},
		{4, 1, 1.2, 2},
		{16, 1, 0, 14},
		{16, 2, 3, 5},
		{1, 1, 5, 1},
		{8, 1, -1, 7}, // a nonsense load counts as none
	} {
		if got := AutoJobs(tc.cores, tc.smp, tc.load); got != tc.want {
			t.Errorf("AutoJobs(%d cores, smp %d, load %v) = %d, want %d", tc.cores, tc.smp, tc.load, got, tc.want)
		}
	}
}

// $KHARNESS_JOBS sets the automatic -j (make test runs a VM per core),
// never above cores ÷ vCPUs; garbage is an error naming it.
func TestJobsFromEnv(t *testing.T) {
	p := &Progress{}
	t.Setenv("KHARNESS_JOBS", "1")
	if j, err := chooseJobs(0, 1, p); err != nil || j != 1 {
		t.Errorf("KHARNESS_JOBS=1: -j %d, %v", j, err)
	}
	t.Setenv("KHARNESS_JOBS", "1000")
	if j, err := chooseJobs(0, 1, p); err != nil || j != runtime.NumCPU() {
		t.Errorf("KHARNESS_JOBS=1000: -j %d, %v; want the %d cores", j, err, runtime.NumCPU())
	}
	if j, err := chooseJobs(1, 1, p); err != nil || j != 1 {
		t.Errorf("-j 1 with KHARNESS_JOBS set: -j %d, %v", j, err)
	}
	t.Setenv("KHARNESS_JOBS", "two")
	if _, err := chooseJobs(0, 1, p); err == nil || !strings.Contains(err.Error(), "KHARNESS_JOBS") {
		t.Errorf("KHARNESS_JOBS=two: %v, want an error naming it", err)
	}
}
