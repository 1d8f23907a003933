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
	"kharness/initramfs"
	"kharness/kernels"
	"kharness/results/stats"
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
	refNS                                                                 float64
	threshold                                                             thresholdFlag
	measure, verbose                                                      bool
	boots, count, jobs                                                    int
	benchtime, timeout                                                    time.Duration
	accel                                                                 *accelValue
}

// parseBisectRunFlags parses and checks bisect-run's command line.
func parseBisectRunFlags(args []string, stderr io.Writer) (*bisectRunFlags, error) {
	f := &bisectRunFlags{threshold: thresholdFlag(0.20)}
	fs := flag.NewFlagSet("bisect-run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.tree, "C", ".", "kernel source tree (a git work tree)")
	fs.StringVar(&f.fragment, "config", "", "config fragment or whole .config merged onto the minimal QEMU config (it wins, except where the image cannot boot)")
	fs.Float64Var(&f.refNS, "ref-ns", 0, "reference: one number (the good commit's, see -measure), in ns/op; compared by percent only")
	fs.StringVar(&f.refRun, "ref", "", "reference: a stored run directory, such as the one -measure prints; its boots and the step's are compared as compare does (Mann-Whitney U, p < 0.05, and -threshold)")
	fs.StringVar(&f.refCell, "ref-cell", "", "with -ref: the cell to read when the run has several")
	fs.Var(&f.threshold, "threshold", "bad when the step is slower than the reference by more than this, as \"20%\" or 0.2")
	fs.BoolVar(&f.measure, "measure", false, "build, boot and print the step's number and run directory (to take a reference); no verdict")
	fs.IntVar(&f.boots, "boots", 3, "boots per step")
	fs.StringVar(&f.stat, "stat", "median", "the step's number over its boots' medians: median, or min (the fastest boot, steadier on a shared host, where interference only adds time); -ref-ns compares it")
	fs.StringVar(&f.bench, "bench", "NullSyscall/call=getppid", "the benchmark timed (its full name)")
	fs.DurationVar(&f.benchtime, "benchtime", 50*time.Millisecond, "one sample's duration")
	fs.IntVar(&f.count, "count", 5, "samples per boot")
	fs.DurationVar(&f.timeout, "timeout", 120*time.Second, "one boot's deadline")
	fs.StringVar(&f.extra, "append", "", "extra kernel arguments, e.g. pti=on")
	f.accel = accelFlag(fs, "auto", "auto, kvm or tcg")
	fs.StringVar(&f.qemu, "qemu", harness.DefaultQEMU, "QEMU binary")
	fs.StringVar(&f.cache, "cache", "", "cache for builds, steps' runs and the image (default $KHARNESS_CACHE or the XDG cache)")
	fs.IntVar(&f.jobs, "j", 0, "make -j (default: host cores)")
	fs.StringVar(&f.src, "src", "", "the kharness source tree, for the guest image (default $KHARNESS_SRC, or found from the binary's path)")
	fs.BoolVar(&f.verbose, "v", false, "show make's output")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: git bisect run kharness bisect-run [flags] (-ref RUN | -ref-ns N)")
		fmt.Fprintln(stderr, "       kharness bisect-run -measure [flags]")
		fmt.Fprintln(stderr, "\nBuilds the tree's kernel (tinyconfig + what QEMU and the guest need, make O= in the cache),")
		fmt.Fprintln(stderr, "boots it -boots times as a stored run and exits 0 (good), 1 (bad: slower than the reference")
		fmt.Fprintln(stderr, "by more than -threshold, and with -ref significantly so), 125 (cannot test: build or boots")
		fmt.Fprintf(stderr, "failed, or too few boots to call) or %d (abort the bisect: a usage or machine problem).\n\n", bisectAbort)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil
	}
	switch {
	case fs.NArg() != 0:
		fs.Usage()
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	case !f.measure && (f.refNS > 0) == (f.refRun != ""):
		return nil, errors.New("give one reference: -ref RUN or -ref-ns N (or -measure to take one)")
	case f.refNS < 0 || math.IsNaN(f.refNS) || math.IsInf(f.refNS, 0):
		return nil, fmt.Errorf("-ref-ns %v: want a positive time in ns", f.refNS)
	case f.stat != "median" && f.stat != "min":
		return nil, fmt.Errorf("-stat %q: want median or min", f.stat)
	case f.boots < 1 || f.count < 1 || f.benchtime <= 0 || f.timeout <= 0:
		return nil, errors.New("-boots, -count, -benchtime and -timeout must be positive")
	}
	return f, nil
}

// bisectRunCmd builds the kernel tree's checked-out commit, boots it and
// says whether its null syscall is slower than a reference.
func bisectRunCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	abort := func(err error) error { return &exitError2{bisectAbort, err} }
	f, err := parseBisectRunFlags(args, stderr)
	if f == nil {
		return abort(err)
	}
	ref, refDesc := []float64{f.refNS}, fmt.Sprintf("%.1f ns/op", f.refNS)
	var refAccel string
	if f.refRun != "" {
		if ref, refAccel, err = harness.ReferenceValues(f.refRun, f.refCell, f.bench); err != nil {
			return abort(err)
		}
		refDesc = fmt.Sprintf("%s (%d boots, median %.1f ns/op)", f.refRun, len(ref), stats.Median(ref))
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
	o := harness.TreeStepOptions{Tree: f.tree, Fragment: f.fragment, MakeJobs: f.jobs,
		Bench: f.bench, Benchtime: f.benchtime, Count: f.count, Boots: f.boots, Timeout: f.timeout, Cmdline: f.extra, Accel: string(*f.accel),
		Run: harness.RunOptions{CacheDir: f.cache, SourceDir: srcDir, QEMU: f.qemu, Command: os.Args, Progress: &harness.Progress{W: stderr}}}
	if f.verbose {
		o.MakeLog = stderr
	}
	step, err := harness.RunTreeStep(ctx, o)
	switch {
	case ctx.Err() != nil || errors.Is(err, harness.ErrInterrupted):
		return &exitError2{exitInterrupted, harness.ErrInterrupted}
	case errors.Is(err, kernels.ErrBuildFailed):
		commit, _ := kernels.TreeCommit(ctx, f.tree)
		fmt.Fprintf(stderr, "bisect-run %s: build failed: skip\n", short(commit))
		return &exitError2{bisectSkip, err}
	case err != nil:
		return abort(err)
	}
	if refAccel != "" && refAccel != step.Accel {
		return abort(fmt.Errorf("the reference %s ran under %s, this step under %s: the numbers do not compare", f.refRun, refAccel, step.Accel))
	}
	return f.verdict(step, ref, refDesc, stdout, stderr)
}

// verdict prints the step's line and returns its exit: the number and run
// directory with -measure, else good, bad or skip against ref.
func (f *bisectRunFlags) verdict(step *harness.TreeStep, ref []float64, refDesc string, stdout, stderr io.Writer) error {
	for i, w := range step.Build.Warnings {
		if i == 5 {
			fmt.Fprintf(stderr, "bisect-run: and %d more config changes (see %s)\n", len(step.Build.Warnings)-i, step.Build.Kernel.ConfigPath)
			break
		}
		fmt.Fprintf(stderr, "bisect-run: olddefconfig set %s\n", w)
	}
	head := stepHead(step, f.boots)
	if len(step.Values) == 0 || len(step.Values)*2 <= f.boots {
		fmt.Fprintf(stderr, "%s: too few boots: skip\n", head)
		return &exitError2{bisectSkip, fmt.Errorf("%d of %d boots gave no number: %s", step.Failed, f.boots, strings.Join(step.Bad, "; "))}
	}
	value := stats.Median(step.Values)
	if f.stat == "min" {
		value = slices.Min(step.Values)
	}
	if f.measure {
		fmt.Fprintf(stderr, "%s, %s %.1f ns/op; as a reference: -ref %s\n", head, f.stat, value, step.Dir)
		fmt.Fprintf(stdout, "%s %.1f ns/op %s\n", step.Build.Commit, value, step.Dir)
		return nil
	}
	vals := step.Values
	if len(ref) == 1 {
		vals = []float64{value} // one number against one number: the step's -stat
	}
	v := harness.JudgeTreeStep(ref, vals, 0.05, float64(f.threshold))
	verdict, code := "good", bisectGood
	switch {
	case v.Skip:
		verdict, code = "skip", bisectSkip
	case v.Bad:
		verdict, code = "bad", bisectBad
	}
	fmt.Fprintf(stderr, "%s, %s %.1f ns/op vs ref %s: %s: %s\n", head, f.stat, value, refDesc, v.Reason, verdict)
	if code == bisectGood {
		return nil
	}
	return &exitError2{code, nil}
}

// stepHead is the start of a step's log line: the commit, the build and
// each boot's number.
func stepHead(step *harness.TreeStep, boots int) string {
	built := fmt.Sprintf("built in %.1fs", step.Build.Duration.Seconds())
	if step.Build.Cached {
		built = "build cached"
	}
	each := make([]string, len(step.Values))
	for i, m := range step.Values {
		each[i] = fmt.Sprintf("%.0f", m)
	}
	return fmt.Sprintf("bisect-run %s: %s, boots %d/%d ok [%s] (%s, load %s)", short(step.Build.Commit), built, len(step.Values), boots, strings.Join(each, " "), step.Accel, loadAvg())
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
