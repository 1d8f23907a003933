package harness

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// chooseJobs keeps concurrent VMs from sharing a host core: under TCG every
// vCPU is a host thread, and a vCPU descheduled mid-loop inflates what it
// times. -j 0 is $KHARNESS_JOBS when set (make test sets it to the host's
// cores: its boots check what kharness does, not how fast), else
// AutoJobs's choice from the host's cores and load.
func chooseJobs(asked, smp int, p *Progress) (int, error) {
	cores := runtime.NumCPU()
	limit := max(1, cores/smp)
	if asked < 0 {
		return 0, fmt.Errorf("-j %d: want 0 (automatic) or more", asked)
	}
	if asked == 0 {
		if env := os.Getenv("KHARNESS_JOBS"); env != "" {
			n, err := strconv.Atoi(env)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("KHARNESS_JOBS=%q: want a number of concurrent VMs, or 0 for automatic", env)
			}
			if n > 0 {
				return min(n, limit), nil
			}
		}
		load := HostLoad()[0]
		j := AutoJobs(cores, smp, load)
		if j < limit {
			p.Logf("-j %d: %d host cores, %d kept for QEMU's own threads and other work (load %.2f), %d vCPUs a VM; -j %d runs more at once, and disturbs itself",
				j, cores, cores-j*smp, load, smp, limit)
		}
		return j, nil
	}
	if asked > limit {
		p.Logf("-j %d would put %d vCPUs on %d host cores; using -j %d", asked, asked*smp, cores, limit)
		return limit, nil
	}
	return asked, nil
}

// AutoJobs is the automatic -j: the host's cores, less one for QEMU's own
// threads (its main loop and I/O thread run beside each vCPU) on machines
// of 8 cores or fewer and one in eight on larger ones, less the cores other
// work keeps busy (load, the one-minute load average as the run starts,
// rounded), divided by the vCPUs of a VM; never below 1. Measured on a
// 2-core host (issue 17): with two one-vCPU VMs at once a quarter of all
// samples ran in slow stretches and were set aside, with one at a time far
// fewer.
func AutoJobs(cores, smp int, load float64) int {
	reserve := 1
	if cores > 8 {
		reserve = cores / 8
	}
	busy := int(math.Round(max(0, load)))
	return max(1, (cores-reserve-busy)/max(1, smp))
}

// HostLoad is the host's load average over 1, 5 and 15 minutes, zero where
// /proc/loadavg cannot be read.
func HostLoad() [3]float64 {
	var l [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	f := strings.Fields(string(b))
	for i := 0; i < 3 && i < len(f); i++ {
		l[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return l
}

// MinFreeSpace is the space a run directory must have before any boot
// starts: a boot writes its console log, results and record (tens of KiB),
// and a run of many boots more.
var MinFreeSpace uint64 = 16 << 20

// checkFreeSpace fails, before any boot, when dir's file system is short of
// space.
func checkFreeSpace(dir string, need uint64) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("checking free space in %s: %w", dir, err)
	}
	if free := st.Bavail * uint64(st.Bsize); free < need {
		return fmt.Errorf("%s: only %d KiB free, need at least %d KiB for a run", dir, free>>10, need>>10)
	}
	return nil
}

// askedBoots is the boots asked of each cell: the config's, or Boots
// where that is more.
func (o RunOptions) askedBoots() int { return max(o.Config.Boots, o.Boots) }

// profileExtra tells whether each cell gets an extra, profiled boot 0:
// under ProfileFirst, in cells of 2 boots or more.
func (o RunOptions) profileExtra() bool { return o.ProfileFirst && o.askedBoots() >= 2 }

// cellBoots is the boots each cell ends with: those asked, and one more
// for ProfileFirst's profiled boot, so that the timed rows keep every
// boot asked for.
func (o RunOptions) cellBoots() int {
	if o.profileExtra() {
		return o.askedBoots() + 1
	}
	return o.askedBoots()
}

// profiled tells whether boot b of a cell runs the profiling plugin: every
// boot under Profile, the extra boot 0 under ProfileFirst.
func (o RunOptions) profiled(b int) bool {
	return o.Profile || (b == 0 && o.profileExtra())
}
