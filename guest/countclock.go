package guest

import (
	"slices"
	"strings"
)

// ClockDescribe is the value of wire.InsnsClockKey for a boot whose
// clocksource is cs and whose kernel command line is cmdline.
//
// A context switch reads sched_clock several times (update_rq_clock on
// every enqueue, dequeue and pick), and sched_clock has two paths: the
// stable one, a TSC read, and the unstable one, which the kernel takes for
// the rest of the boot once its clocksource watchdog marks the TSC
// unstable (measured: +264 kernel instructions a pipe round trip on 7.1
// and 7.3, +392 on 6.1, +232 on 6.12, identical to booting with
// tsc=unstable). Under TCG the watchdog compares the TSC with the HPET or
// ACPI PM timer, both following the host's clock, and a host that stalls
// the guest between its reads can make them disagree: which path a boot's
// switches take then depends on host load. tsc=reliable turns that
// watchdog off, as the kernel itself does on hardware whose TSC is
// invariant and checked (CONSTANT_TSC, NONSTOP_TSC, TSC_ADJUST), so the
// count measures the stable path, the one such hardware runs.
func ClockDescribe(cs, cmdline string) string {
	if !strings.HasPrefix(cs, "tsc") {
		return cs + "; not the TSC (the kernel marked it unstable, or was told to): switches take sched_clock's unstable path"
	}
	if slices.Contains(strings.Fields(cmdline), "tsc=reliable") {
		return cs + "; TSC watchdog off (tsc=reliable): switches take sched_clock's stable path, as on hardware with an invariant TSC"
	}
	return cs + "; TSC watchdog on: a busy host can make the kernel mark the TSC unstable mid-boot, and later switches take sched_clock's unstable path (their counts are then not kept)"
}
