package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"kharness/harness"
	"kharness/harness/bisect"
	"kharness/harness/vm"
	"kharness/initramfs"
	"kharness/kernels"
	"kharness/results/stream"
)

// Exit codes of bisect-run, as `git bisect run` reads them: 0 good, 1 bad,
// 125 skip (this commit cannot be tested), and above 127 abort the bisect
// (a problem of the command or the machine, which would be the same at
// every commit).
const (
	bisectGood  = 0
	bisectBad   = 1
	bisectSkip  = 125
	bisectAbort = 128
)

// bisectRunFlags are bisect-run's flags, parsed.
type bisectRunFlags struct {
	tree, fragment, refRun, refCell, stat, bench, extra, qemu, cache, src string
	metric, threshold, direction                                          string
	refNS                                                                 float64
	measure, verbose                                                      bool
	boots, count, jobs                                                    int
	benchtime, timeout                                                    time.Duration
	accel                                                                 *accelValue
	// From threshold, by metric: a fraction of time, or a count's.
	timeThreshold  float64
	countThreshold bisect.CountThreshold
}

// parseBisectRunFlags parses and checks bisect-run's command line.
func parseBisectRunFlags(args []string, stderr io.Writer) (*bisectRunFlags, error) {
	f := &bisectRunFlags{}
	fs := flag.NewFlagSet("bisect-run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.tree, "C", ".", "kernel source tree (a git work tree)")
	fs.StringVar(&f.fragment, "config", "", "config fragment or whole .config merged onto the minimal QEMU config (it wins, except where the image cannot boot)")
	fs.StringVar(&f.metric, "metric", bisect.MetricAuto, "what is compared: insns or kinsns (the exact instruction count per operation, all or the kernel's; one boot a step, TCG only), time (ns/op, -boots a step, the reference's kernel booted beside it), or auto (insns under TCG, time under KVM)")
	fs.Float64Var(&f.refNS, "ref-ns", 0, "reference: one number (the good commit's, see -measure), in ns/op; compared by percent only (-metric time)")
	fs.StringVar(&f.refRun, "ref", "", "reference: a stored run directory, such as the one -measure prints: its count, or (time) its kernel, booted again beside each step")
	fs.StringVar(&f.refCell, "ref-cell", "", "with -ref: the cell to read when the run has several")
	fs.StringVar(&f.threshold, "threshold", "", "bad when worse than the reference by more than this: for counts, instructions per operation (2, the default) or a percentage (1%); for time, a percentage (20%, the default) or a fraction")
	fs.StringVar(&f.direction, "direction", "more", "counts: bad when the step has more instructions than the reference (more), or fewer (fewer, to find where a cost went away)")
	fs.BoolVar(&f.measure, "measure", false, "build, boot and print the step's number and run directory (to take a reference); no verdict")
	fs.IntVar(&f.boots, "boots", 5, "boots per step and of the reference's kernel beside it, with -metric time")
	fs.StringVar(&f.stat, "stat", "median", "time: the step's number over its boots' medians: median, or min (the fastest boot); -ref-ns compares it")
	fs.StringVar(&f.bench, "bench", "NullSyscall/call=getppid", "the benchmark measured (its full name)")
	fs.DurationVar(&f.benchtime, "benchtime", 50*time.Millisecond, "one sample's duration")
	fs.IntVar(&f.count, "count", 5, "samples per boot")
	fs.DurationVar(&f.timeout, "timeout", 120*time.Second, "one boot's deadline")
	fs.StringVar(&f.extra, "append", "", "extra kernel arguments, e.g. pti=on")
	f.accel = accelFlag(fs, "auto", "auto, kvm or tcg")
	fs.StringVar(&f.qemu, "qemu", vm.DefaultQEMU, "QEMU binary")
	fs.StringVar(&f.cache, "cache", "", "cache for builds, steps' runs and the image (default $KHARNESS_CACHE or the XDG cache)")
	fs.IntVar(&f.jobs, "j", 0, "make -j (default: host cores)")
	fs.StringVar(&f.src, "src", "", "the kharness source tree, for the guest image (default $KHARNESS_SRC, or found from the binary's path)")
	fs.BoolVar(&f.verbose, "v", false, "show make's output")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: git bisect run kharness bisect-run [flags] (-ref RUN | -ref-ns N)")
		fmt.Fprintln(stderr, "       kharness bisect-run -measure [flags]")
		fmt.Fprintln(stderr, "\nBuilds the tree's kernel (tinyconfig + what QEMU and the guest need, make O= in the cache),")
		fmt.Fprintln(stderr, "boots it and exits 0 (good), 1 (bad: worse than the reference by more than -threshold;")
		fmt.Fprintln(stderr, "for time, significantly so), 125 (cannot test: build or boots failed, boots disagree, or")
		fmt.Fprintf(stderr, "a time too near the threshold to call) or %d (abort the bisect: a usage or machine problem).\n", bisectAbort)
		fmt.Fprintln(stderr, "Under TCG it compares exact instruction counts, which host load cannot change; a bad step")
		fmt.Fprintln(stderr, "names the kernel functions that account for the difference.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return f, f.check()
}

// check validates the parsed flags and reads -threshold for the metric.
func (f *bisectRunFlags) check() error {
	switch {
	case !f.measure && (f.refNS > 0) == (f.refRun != ""):
		return errors.New("give one reference: -ref RUN or -ref-ns N (or -measure to take one)")
	case f.refNS < 0 || math.IsNaN(f.refNS) || math.IsInf(f.refNS, 0):
		return fmt.Errorf("-ref-ns %v: want a positive time in ns", f.refNS)
	case f.stat != "median" && f.stat != "min":
		return fmt.Errorf("-stat %q: want median or min", f.stat)
	case f.boots < 1 || f.count < 1 || f.benchtime <= 0 || f.timeout <= 0:
		return errors.New("-boots, -count, -benchtime and -timeout must be positive")
	case !slices.Contains([]string{bisect.MetricAuto, bisect.MetricInsns, bisect.MetricKInsns, bisect.MetricTime}, f.metric):
		return fmt.Errorf("-metric %q: want auto, insns, kinsns or time", f.metric)
	case f.direction != "more" && f.direction != "fewer":
		return fmt.Errorf("-direction %q: want more or fewer", f.direction)
	}
	if f.refNS > 0 {
		if f.metric == bisect.MetricInsns || f.metric == bisect.MetricKInsns {
			return fmt.Errorf("-ref-ns is a time; -metric %s compares counts: give -ref RUN", f.metric)
		}
		f.metric = bisect.MetricTime
	}
	if f.direction == "fewer" && f.metric == bisect.MetricTime {
		return errors.New("-direction fewer is for counts; time is bad when slower")
	}
	var tf thresholdFlag = 0.20
	if f.threshold != "" {
		if err := tf.Set(f.threshold); err != nil && f.metric == bisect.MetricTime {
			return fmt.Errorf("-threshold %q: %v", f.threshold, err)
		}
	}
	f.timeThreshold = float64(tf)
	ct, err := parseCountThreshold(f.threshold)
	if err != nil && f.metric != bisect.MetricTime {
		return fmt.Errorf("-threshold %q: %v", f.threshold, err)
	}
	f.countThreshold = ct
	return nil
}

// parseCountThreshold reads a count's -threshold: instructions per
// operation ("2") or a percentage ("1%"); empty is the default.
func parseCountThreshold(s string) (bisect.CountThreshold, error) {
	if s == "" {
		return bisect.DefaultCountThreshold, nil
	}
	num, pct := strings.CutSuffix(strings.TrimSpace(s), "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return bisect.CountThreshold{}, errors.New("want instructions per operation such as 2, or a percentage such as 1%")
	}
	if pct {
		return bisect.CountThreshold{Frac: v / 100}, nil
	}
	return bisect.CountThreshold{Insns: v}, nil
}

// bisectRunCmd builds the kernel tree's checked-out commit, boots it and
// says whether its benchmark is worse than a reference's.
func bisectRunCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	abort := func(err error) error { return &exitError2{bisectAbort, err} }
	f, err := parseBisectRunFlags(args, stderr)
	if f == nil || err != nil {
		return abort(err)
	}
	ref, err := f.reference()
	if err != nil {
		return abort(err)
	}
	if f.metric == bisect.MetricAuto && autoMetric(string(*f.accel), false) == bisect.MetricInsns {
		// TCG for certain: the count, so that -measure's run and a later
		// step's of the same commit are one run, booted once.
		f.metric = bisect.MetricInsns
	}
	if err := kernels.CheckBuildTools(ctx); err != nil {
		return abort(err)
	}
	if f.cache == "" {
		if f.cache, err = kernels.DefaultCacheDir(); err != nil {
			return abort(err)
		}
	}
	srcDir, err := kharnessSource(f.src)
	if err != nil {
		return abort(err)
	}
	o := bisect.TreeStepOptions{Tree: f.tree, Fragment: f.fragment, MakeJobs: f.jobs, Metric: f.metric,
		Bench: f.bench, Benchtime: f.benchtime, Count: f.count, Boots: f.boots, Timeout: f.timeout, Cmdline: f.extra, Accel: string(*f.accel),
		Run: harness.RunOptions{CacheDir: f.cache, SourceDir: srcDir, QEMU: f.qemu, Command: os.Args, Progress: &harness.Progress{W: stderr}}}
	if f.verbose {
		o.MakeLog = stderr
	}
	if ref != nil && f.metric == bisect.MetricTime {
		o.RefKernel = ref.Kernel
	}
	step, err := bisect.RunTreeStep(ctx, o)
	switch {
	case ctx.Err() != nil || errors.Is(err, vm.ErrInterrupted):
		return &exitError2{exitInterrupted, vm.ErrInterrupted}
	case errors.Is(err, kernels.ErrBuildFailed):
		commit, _ := kernels.TreeCommit(ctx, f.tree)
		fmt.Fprintf(stderr, "bisect-run %s: build failed: skip\n", short(commit))
		return &exitError2{bisectSkip, err}
	case err != nil:
		return abort(err)
	}
	if ref != nil && ref.Accel != step.Accel {
		return abort(fmt.Errorf("the reference %s ran under %s, this step under %s: the numbers do not compare", f.refRun, ref.Accel, step.Accel))
	}
	return f.verdict(step, ref, stdout, stderr)
}

// reference reads -ref's run (nil for -measure or -ref-ns). With -metric
// auto it is the count when the run has one, else time; the step then
// measures what the reference has.
func (f *bisectRunFlags) reference() (*bisect.Reference, error) {
	if f.refRun == "" {
		return nil, nil
	}
	ref, err := bisect.ReferenceValues(f.refRun, f.refCell, f.bench, bisect.MetricUnit(f.metric))
	if err != nil && f.metric == bisect.MetricTime {
		// Time boots the reference's kernel beside each step and judges
		// by those boots: the run need only name the kernel. A run
		// measured by count has no times (its boots were profiled, their
		// times set aside), but names it as well.
		if r, cerr := bisect.ReferenceValues(f.refRun, f.refCell, f.bench, stream.InsnsUnit); cerr == nil {
			ref, err = r, nil
		}
	}
	if err != nil && f.metric == bisect.MetricAuto {
		if ref, err = bisect.ReferenceValues(f.refRun, f.refCell, f.bench, "sec/op"); err == nil {
			f.metric = bisect.MetricTime
		}
	} else if err == nil && f.metric == bisect.MetricAuto {
		f.metric = bisect.MetricInsns
	}
	return ref, err
}

// kharnessSource finds the kharness tree the guest image is built from:
// -src, $KHARNESS_SRC, the tree holding the binary, or the working
// directory's (git bisect runs the command in the kernel tree).
func kharnessSource(flagDir string) (string, error) {
	if flagDir != "" {
		return initramfs.FindSourceDir(flagDir)
	}
	if exe, err := os.Executable(); err == nil && os.Getenv("KHARNESS_SRC") == "" {
		if d, err := initramfs.FindSourceDir(filepath.Dir(exe)); err == nil {
			return d, nil
		}
	}
	wd, _ := os.Getwd()
	return initramfs.FindSourceDir(wd)
}

// loadAvg is the host's one-minute load average, which inflates what TCG
// times when it exceeds the free cores.
func loadAvg() string { return strconv.FormatFloat(harness.HostLoad()[0], 'f', 2, 64) }

// short abbreviates a TreeCommit name to 12 hex digits (and its dirty suffix).
func short(commit string) string {
	c, dirty, ok := strings.Cut(commit, "+")
	if len(c) > 12 {
		c = c[:12]
	}
	if ok {
		return c + "+" + dirty
	}
	return c
}
