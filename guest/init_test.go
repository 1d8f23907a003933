//go:build linux

package guest

import "testing"

func TestCmdlineMode(t *testing.T) {
	for cmdline, want := range map[string]Mode{
		"console=ttyS0 quiet":                                    ModeBench,
		"console=ttyS0 kharness.mode=shell":                      ModeShell,
		"kharness.mode=probe kharness.run=. kharness.mode=shell": ModeShell,
		`kharness.run="a b" kharness.mode=probe`:                 ModeProbe,
		"kharness.modes=shell":                                   ModeBench,
		"kharness.count=ten kharness.mode=shell":                 ModeShell,
		"kharness.mode=shell kharness.benchtime=fast":            ModeShell,
		"kharness.fidelity=maybe kharness.mode=probe":            ModeProbe,
	} {
		if got := cmdlineMode(cmdline); got != want {
			t.Errorf("cmdlineMode(%q) = %q, want %q", cmdline, got, want)
		}
	}
}

func TestWithAsyncPreemptOff(t *testing.T) {
	for g, want := range map[string]string{
		"":                              "asyncpreemptoff=1",
		"inittrace=1":                   "inittrace=1,asyncpreemptoff=1",
		"asyncpreemptoff=1,inittrace=1": "asyncpreemptoff=1,inittrace=1",
	} {
		if got := WithAsyncPreemptOff(g); got != want {
			t.Errorf("WithAsyncPreemptOff(%q) = %q, want %q", g, got, want)
		}
	}
}
