package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"

	"kharness/harness"
)

// checkBootFlags checks those of fs's flags that a command writes into the
// config it runs (bisect, attribute, mitigations: -bench, -benchtime,
// -count, -boots, -cmdline) by that config's own rules, so that a bad
// value exits 2 at once, naming the flag, and not after apt calls or
// boots, naming a generated file the user never wrote.
func checkBootFlags(fs *flag.FlagSet) error {
	for _, c := range []struct {
		name  string
		check func(string) error
	}{
		{"bench", harness.CheckBenchRun},
		{"benchtime", harness.CheckBenchtime},
		{"count", intCheck(harness.CheckCount)},
		{"boots", intCheck(harness.CheckBoots)},
		{"cmdline", harness.CheckCmdline},
	} {
		f := fs.Lookup(c.name)
		if f == nil {
			continue
		}
		if err := c.check(f.Value.String()); err != nil {
			return badFlag(fmt.Errorf("-%s %s: %v", c.name, strconv.Quote(f.Value.String()), err))
		}
	}
	return nil
}

// intCheck is an int check over a flag's text.
func intCheck(check func(int) error) func(string) error {
	return func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		return check(n)
	}
}

// checkBisectFlags is checkBootFlags for bisect, with its own flags:
// -alpha a level in (0, 1), -max-boots as -boots.
func checkBisectFlags(fs *flag.FlagSet, alpha float64, maxBoots int) error {
	if err := checkBootFlags(fs); err != nil {
		return err
	}
	if !(alpha > 0 && alpha < 1) {
		return badFlag(fmt.Errorf("-alpha %v: want a level in (0, 1)", alpha))
	}
	if err := harness.CheckBoots(maxBoots); err != nil {
		return badFlag(fmt.Errorf("-max-boots %d: %v", maxBoots, err))
	}
	return nil
}

// bisectUsage is bisect's -h (out of bisectCmd, which the checks above
// would have taken past its size).
func bisectUsage(fs *flag.FlagSet, stderr io.Writer) {
	fmt.Fprintln(stderr, "usage: kharness bisect -good K1 -bad K2 [flags]")
	fmt.Fprintf(stderr, "Exits 0 naming the first bad kernel, %d when the search stops undecided.\n", exitUndecided)
	fs.PrintDefaults()
}
