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

// bisectRunCmd builds the kernel tree's checked-out commit, boots it and
// says whether its null syscall is slower than a reference.
func bisectRunCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bisect-run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tree := fs.String("C", ".", "kernel source tree (a git work tree)")
	fragment := fs.String("config", "", "config fragment or whole .config merged onto the minimal QEMU config (it wins, except where the image cannot boot)")
	refNS := fs.Float64("ref-ns", 0, "reference: one number (the good commit's, see -measure), in ns/op; compared by percent only")
	refRun := fs.String("ref", "", "reference: a stored run directory, such as the one -measure prints; its boots and the step's are compared as compare does (Mann-Whitney U, p < 0.05, and -threshold)")
	refCell := fs.String("ref-cell", "", "with -ref: the cell to read when the run has several")
	threshold := thresholdFlag(0.20)
	fs.Var(&threshold, "threshold", "bad when the step's number exceeds the reference by more than this, as \"20%\" or 0.2")
	measure := fs.Bool("measure", false, "build, boot and print the step's number (to take a reference); no verdict")
	boots := fs.Int("boots", 3, "boots per step; the step's number is -stat of their medians")
	stat := fs.String("stat", "median", "median, or min: the fastest boot, steadier on a shared host (interference only adds time)")
	bench := fs.String("bench", "NullSyscall/call=getppid", "the benchmark timed (its full name)")
	benchtime := fs.Duration("benchtime", 50*time.Millisecond, "one sample's duration")
	count := fs.Int("count", 5, "samples per boot")
	timeout := fs.Duration("timeout", 120*time.Second, "one boot's deadline")
	extra := fs.String("append", "", "extra kernel arguments, e.g. pti=on")
	accel := accelFlag(fs, "auto", "auto, kvm or tcg")
	qemu := fs.String("qemu", harness.DefaultQEMU, "QEMU binary")
	cache := fs.String("cache", "", "cache for builds and the image (default $KHARNESS_CACHE or the XDG cache)")
	jobs := fs.Int("j", 0, "make -j (default: host cores)")
	src := fs.String("src", "", "the kharness source tree, for the guest image (default $KHARNESS_SRC, or found from the binary's path)")
	verbose := fs.Bool("v", false, "show make's output")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: git bisect run kharness bisect-run [flags] (-ref-ns N | -ref RUN)")
		fmt.Fprintln(stderr, "       kharness bisect-run -measure [flags]")
		fmt.Fprintln(stderr, "\nBuilds the tree's kernel (tinyconfig + what QEMU and the guest need, make O= in the cache),")
		fmt.Fprintln(stderr, "boots it -boots times and exits 0 (good), 1 (bad: -stat above the reference by more than")
		fmt.Fprintf(stderr, "-threshold), 125 (cannot test: build or boots failed) or %d (abort the bisect: a usage or\nmachine problem).\n\n", bisectAbort)
		fs.PrintDefaults()
	}
	abort := func(err error) error { return &exitError2{bisectAbort, err} }
	if err := fs.Parse(args); err != nil {
		return abort(nil)
	}
	switch {
	case fs.NArg() != 0:
		fs.Usage()
		return abort(fmt.Errorf("unexpected arguments %q", fs.Args()))
	case !*measure && (*refNS > 0) == (*refRun != ""):
		return abort(errors.New("give one reference: -ref-ns N or -ref RUN (or -measure to take one)"))
	case *refNS < 0 || math.IsNaN(*refNS) || math.IsInf(*refNS, 0):
		return abort(fmt.Errorf("-ref-ns %v: want a positive time in ns", *refNS))
	case *stat != "median" && *stat != "min":
		return abort(fmt.Errorf("-stat %q: want median or min", *stat))
	case *boots < 1 || *count < 1 || *benchtime <= 0 || *timeout <= 0:
		return abort(errors.New("-boots, -count, -benchtime and -timeout must be positive"))
	}
	ref, refDesc := []float64{*refNS}, fmt.Sprintf("%.1f ns/op", *refNS)
	var refAccel string
	if *refRun != "" {
		var err error
		if ref, refAccel, err = harness.ReferenceValues(*refRun, *refCell, *bench); err != nil {
			return abort(err)
		}
		refDesc = fmt.Sprintf("%s (%d boots, median %.1f ns/op)", *refRun, len(ref), stats.Median(ref))
	}
	if err := kernels.CheckBuildTools(ctx); err != nil {
		return abort(err)
	}
	if *cache == "" {
		var err error
		if *cache, err = kernels.DefaultCacheDir(); err != nil {
			return abort(err)
		}
	}
	srcDir, err := kharnessSource(*src)
	if err != nil {
		return abort(err)
	}
	o := harness.TreeStepOptions{Tree: *tree, Fragment: *fragment, MakeJobs: *jobs,
		Bench: *bench, Benchtime: *benchtime, Count: *count, Boots: *boots, Timeout: *timeout, Cmdline: *extra, Accel: string(*accel),
		Run: harness.RunOptions{CacheDir: *cache, SourceDir: srcDir, QEMU: *qemu, Command: os.Args, Progress: &harness.Progress{W: stderr}}}
	if *verbose {
		o.MakeLog = stderr
	}
	step, err := harness.RunTreeStep(ctx, o)
	switch {
	case ctx.Err() != nil || errors.Is(err, harness.ErrInterrupted):
		return &exitError2{exitInterrupted, harness.ErrInterrupted}
	case errors.Is(err, kernels.ErrBuildFailed):
		commit, _ := kernels.TreeCommit(ctx, *tree)
		fmt.Fprintf(stderr, "bisect-run %s: build failed: skip\n", short(commit))
		return &exitError2{bisectSkip, err}
	case err != nil:
		return abort(err)
	}
	if refAccel != "" && refAccel != step.Accel {
		return abort(fmt.Errorf("the reference %s ran under %s, this step under %s: the numbers do not compare", *refRun, refAccel, step.Accel))
	}
	for i, w := range step.Build.Warnings {
		if i == 5 {
			fmt.Fprintf(stderr, "bisect-run: and %d more config changes (see %s)\n", len(step.Build.Warnings)-i, step.Build.Kernel.ConfigPath)
			break
		}
		fmt.Fprintf(stderr, "bisect-run: olddefconfig set %s\n", w)
	}
	head := stepHead(step, *boots)
	if len(step.Values) == 0 || len(step.Values)*2 <= *boots {
		fmt.Fprintf(stderr, "%s: too few boots: skip\n", head)
		return &exitError2{bisectSkip, fmt.Errorf("%d of %d boots gave no number: %s", step.Failed, *boots, strings.Join(step.Bad, "; "))}
	}
	value := stats.Median(step.Values)
	if *stat == "min" {
		value = slices.Min(step.Values)
	}
	if *measure {
		fmt.Fprintf(stderr, "%s, %s %.1f ns/op; as a reference: -ref %s\n", head, *stat, value, step.Dir)
		fmt.Fprintf(stdout, "%s %.1f ns/op %s\n", step.Build.Commit, value, step.Dir)
		return nil
	}
	vals := step.Values
	if len(ref) == 1 {
		vals = []float64{value} // one number against one number: the step's -stat
	}
	v := harness.JudgeTreeStep(ref, vals, 0.05, float64(threshold))
	verdict, code := "good", bisectGood
	switch {
	case v.Skip:
		verdict, code = "skip", bisectSkip
	case v.Bad:
		verdict, code = "bad", bisectBad
	}
	fmt.Fprintf(stderr, "%s, %s %.1f ns/op vs ref %s: %s: %s\n", head, *stat, value, refDesc, v.Reason, verdict)
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
