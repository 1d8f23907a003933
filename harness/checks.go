package harness

import (
	"errors"
	"fmt"
	"kharness/harness/vm"
	"regexp"
	"strings"
	"time"
)

// The rules for the values a config file and the commands' flags share
// (bisect, attribute and mitigations write a config from their flags):
// one rule each, so that a flag is refused as its key would be, at once
// and by the flag's name, and not later naming a file the user never
// wrote. Each error says what is wanted; the caller names the key or flag.

// CheckBenchRun checks a benchmark regexp (bench.run, -bench).
func CheckBenchRun(re string) error {
	want := "want a regexp of at most 200 bytes without spaces or quotes (it travels on the kernel command line)"
	if _, err := regexp.Compile(re); err != nil {
		return fmt.Errorf("%s: %v", want, err)
	}
	if re == "" || strings.ContainsAny(re, " \t\n\"") || len(re) > 200 {
		return errors.New(want)
	}
	return nil
}

// CheckBenchtime checks one sample's target time (bench.benchtime,
// -benchtime).
func CheckBenchtime(s string) error {
	if d, err := time.ParseDuration(s); err != nil || d < time.Millisecond || d > time.Minute {
		return errors.New("want a duration from 1ms to 1m such as \"100ms\"")
	}
	return nil
}

// CheckCount checks the samples a boot (bench.count, -count).
func CheckCount(n int) error {
	if n < 1 || n > 1000 {
		return errors.New("want 1..1000")
	}
	return nil
}

// CheckBoots checks the boots a cell (boots, -boots).
func CheckBoots(n int) error {
	if n < 1 || n > 1000 {
		return errors.New("want 1..1000 (5 or more for a Mann-Whitney test to call anything)")
	}
	return nil
}

// guestArgsRoom is the most the guest's parameters (guest.Params.Args)
// add to a kernel command line.
const guestArgsRoom = 400

// CheckCmdline checks extra kernel arguments (a config's cmdline,
// -cmdline): printable ASCII, no kharness.* argument, and short enough
// that the guest's own parameters, which come last, are not cut.
func CheckCmdline(s string) error {
	if err := checkCmdlineChars(s); err != nil {
		return err
	}
	// The config's check counts the whole line; here the guest's
	// parameters are not known yet: room for the longest (-bench's 200
	// bytes and the rest) is kept.
	if n := len(vm.BaseCmdline) + 1 + len(s) + guestArgsRoom; n > maxCmdline {
		return fmt.Errorf("is %d bytes: with kharness's own arguments the kernel command line would pass the %d bytes Linux takes", len(s), maxCmdline)
	}
	return nil
}

// checkCmdlineChars is CheckCmdline less the length, which a config
// checks on the whole line.
func checkCmdlineChars(s string) error {
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return fmt.Errorf("has a non-printable character %q", r)
		}
	}
	if strings.Contains(s, "kharness.") {
		return errors.New("holds a kharness.* argument: those are set by kharness itself")
	}
	return nil
}
