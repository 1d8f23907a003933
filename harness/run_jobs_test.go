package harness

import "testing"

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
		if got := autoJobs(tc.cores, tc.smp, tc.load); got != tc.want {
			t.Errorf("autoJobs(%d cores, smp %d, load %v) = %d, want %d", tc.cores, tc.smp, tc.load, got, tc.want)
		}
	}
}
