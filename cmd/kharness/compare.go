package main

import (
	"flag"
	"fmt"
	"io"
	"kharness/harness/vm"
	"kharness/results/show"
	"kharness/results/stats"
	"kharness/results/store"
	"math"
	"slices"
	"strconv"
	"strings"
)

func compareCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := newCompareFlags(fs, "column axis: config, kernel, or run (before/after: each RUN a column)", "config", "kernel", "run")
	findings := fs.String("findings", "", "write one plain-text report a called exact change (insns/op, kinsns/op) into this directory: subject, the functions behind it, both sides' kernels and configs, the boots, the command that reproduces it")
	format := fs.String("format", "text", "output format: text, csv, json or kcidb (KCIDB's JSON, schema v4.5: a checkout and build per kernel, a test per cell and per benchmark and unit)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kharness compare [flags] RUN...")
		fmt.Fprintf(stderr, "\nExits %d if any cell is called a regression: p < alpha and its median worse\n"+
			"than the first column's by more than the threshold (higher is better for\n"+
			"rates such as B/s, lower for other units).\n\n", exitRegression)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	opt, err := cf.options()
	if err != nil {
		return badFlag(err)
	}
	write := map[string]func(io.Writer, *stats.Table) error{
		"text": show.WriteText, "csv": show.WriteCSV, "json": show.WriteJSON,
		"kcidb": func(w io.Writer, t *stats.Table) error { return show.WriteKCIDB(w, fs.Args(), t) },
	}[*format]
	if write == nil {
		return badFlag(fmt.Errorf("-format %q: want text, csv, json or kcidb", *format))
	}
	tab, err := stats.Compare(fs.Args(), opt)
	if err != nil {
		return err
	}
	if err := write(stdout, tab); err != nil {
		return err
	}
	if *findings != "" {
		if err := writeCompareFindings(*findings, fs.Args(), args, tab, stderr); err != nil {
			return err
		}
	}
	if n := tab.Regressions(); n > 0 {
		return &exitError2{exitRegression, fmt.Errorf("%d cells called a regression (p < %v and a change of more than %s)", n, opt.Alpha, cf.threshold.String())}
	}
	return nil
}

// compareFlags are the flags compare and report share: the column axis,
// -force and the calling rule.
type compareFlags struct {
	cols      []string
	col       *string
	force     *bool
	alpha     *float64
	slow      *float64
	threshold thresholdFlag
	detect    thresholdFlag
	correct   *bool
}

// newCompareFlags defines the shared flags on fs; cols are the column axes
// the command accepts, the first the default.
func newCompareFlags(fs *flag.FlagSet, colUsage string, cols ...string) *compareFlags {
	cf := &compareFlags{cols: cols, threshold: 0.02}
	cf.col = fs.String("col", cols[0], colUsage)
	cf.force = fs.Bool("force", false, "compare results from different accelerators, QEMU versions or guest CPUs")
	cf.alpha = fs.Float64("alpha", 0.05, "significance level: a change is called only if the Mann-Whitney U p-value is below it")
	cf.slow = slowFactorFlag(fs)
	cf.correct = fs.Bool("host-correct", false, "scale each timed sample by the host's fast state (its cell and benchmark's lower-quartile reference) over the sample's own reference, instead of setting slow samples aside")
	fs.Var(&cf.threshold, "threshold", "smallest change of the median called a regression or improvement, as \"2%\" or 0.02")
	fs.Var(&cf.detect, "detect", "plan: say how many boots a side each timed row needs to call a change of this size (\"5%\"), from the spread between boots measured here")
	return cf
}

// options checks the parsed flags and returns the comparison they ask for.
func (cf *compareFlags) options() (stats.CompareOptions, error) {
	if !slices.Contains(cf.cols, *cf.col) {
		return stats.CompareOptions{}, fmt.Errorf("-col %q: want %s or %s", *cf.col,
			strings.Join(cf.cols[:len(cf.cols)-1], ", "), cf.cols[len(cf.cols)-1])
	}
	if !(*cf.alpha > 0 && *cf.alpha < 1) {
		return stats.CompareOptions{}, fmt.Errorf("-alpha %v: want a level in (0, 1), such as 0.05", *cf.alpha)
	}
	slow, err := slowFactor(*cf.slow)
	if err != nil {
		return stats.CompareOptions{}, err
	}
	th := float64(cf.threshold)
	if th == 0 {
		th = -1 // CompareOptions reads 0 as the default; below 0 is no threshold
	}
	return stats.CompareOptions{Column: *cf.col, Force: *cf.force, Alpha: *cf.alpha, Threshold: th, SlowFactor: slow, Detect: float64(cf.detect), HostCorrect: *cf.correct}, nil
}

// accelValue is an -accel flag: auto, kvm or tcg, refused at parse time
// otherwise; empty where the flag's default is (run's "the config's").
type accelValue string

func (a *accelValue) String() string { return string(*a) }

func (a *accelValue) Set(s string) error {
	if s != "auto" && s != "kvm" && s != "tcg" {
		return fmt.Errorf("want auto, kvm or tcg")
	}
	*a = accelValue(s)
	return nil
}

// accelFlag defines -accel on fs with default def and the usage text.
func accelFlag(fs *flag.FlagSet, def, usage string) *accelValue {
	a := accelValue(def)
	fs.Var(&a, "accel", usage)
	return &a
}

// slowFactorFlag defines -slow-factor on fs: the host guard's factor.
func slowFactorFlag(fs *flag.FlagSet) *float64 {
	return fs.Float64("slow-factor", stats.DefaultSlowFactor,
		"with -host-correct=false, set aside samples taken while the guest's host reference loop ran more than this many times its cell's typical (median) time: a slow host; 0 keeps every sample as read (no scaling either)")
}

// slowFactor checks -slow-factor and returns it as CompareOptions and
// BootSamples take it: negative for off.
func slowFactor(f float64) (float64, error) {
	switch {
	case f == 0:
		return -1, nil
	case math.IsNaN(f) || f <= 1 || math.IsInf(f, 0):
		return 0, fmt.Errorf("-slow-factor %v: want a factor above 1, such as %v, or 0 to keep every sample", f, stats.DefaultSlowFactor)
	}
	return f, nil
}

// thresholdFlag is a fraction given as a percentage ("2%") or as a
// fraction ("0.02").
type thresholdFlag float64

func (f *thresholdFlag) String() string {
	return strconv.FormatFloat(float64(*f)*100, 'g', 4, 64) + "%"
}

func (f *thresholdFlag) Set(s string) error {
	num, pct := strings.CutSuffix(strings.TrimSpace(s), "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("want a percentage such as 2%% or a fraction such as 0.02")
	}
	if pct {
		v /= 100
	} else if v >= 1 {
		return fmt.Errorf("%s would be %s%%; write %s%% if that is meant", s, strconv.FormatFloat(v*100, 'g', -1, 64), s)
	}
	*f = thresholdFlag(v)
	return nil
}

// writeCompareFindings writes the findings of tab, the comparison of dirs
// that compare's args asked for, into dir, and says where on stderr. Each
// reproduces with the runs' own commands (from run.json) and compare's.
func writeCompareFindings(dir string, dirs, args []string, tab *stats.Table, stderr io.Writer) error {
	boots, err := store.LoadBoots(dirs...)
	if err != nil {
		return err
	}
	var repro []string
	for _, d := range dirs {
		if rec, err := store.ReadRunDir(d); err == nil && len(rec.Command) > 0 {
			repro = append(repro, vm.QuoteArgv(rec.Command)+"   # the run, into "+d)
		}
	}
	repro = append(repro, vm.QuoteArgv(append([]string{"kharness", "compare"}, args...)))
	paths, err := show.WriteFindings(dir, show.Findings(tab, boots, repro))
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d findings (called exact changes) written to %s\n", len(paths), dir)
	return nil
}
