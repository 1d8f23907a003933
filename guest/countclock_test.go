package guest

import (
	"strings"
	"testing"
)

// TestClockDescribe: the three settings a count of switches can run on
// read differently, each naming its clocksource first.
func TestClockDescribe(t *testing.T) {
	for _, tc := range []struct{ cs, cmdline, want string }{
		{"tsc", "console=ttyS0 quiet kharness.insns=1 tsc=reliable", "tsc; TSC watchdog off (tsc=reliable)"},
		{"tsc", "console=ttyS0 quiet kharness.insns=1", "tsc; TSC watchdog on"},
		{"hpet", "console=ttyS0 tsc=unstable", "hpet; not the TSC"},
		{"tsc", "console=ttyS0 xtsc=reliable", "tsc; TSC watchdog on"},
	} {
		if got := ClockDescribe(tc.cs, tc.cmdline); !strings.HasPrefix(got, tc.want) {
			t.Errorf("ClockDescribe(%q, %q) = %q, want it to start %q", tc.cs, tc.cmdline, got, tc.want)
		}
	}
}
