package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"kharness/guest"
	"kharness/harness"
	"kharness/initramfs"
	"kharness/internal/tail"
	"kharness/kernels"
	"kharness/results/stats"
	"kharness/results/store"
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

// bisectRunCmd builds the kernel tree's checked-out commit, boots it and
// says whether its null syscall is slower than a reference.
func bisectRunCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bisect-run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tree := fs.String("C", ".", "kernel source tree (a git work tree)")
	fragment := fs.String("config", "", "config fragment or whole .config merged onto the minimal QEMU config (it wins, except where the image cannot boot)")
	refNS := fs.Float64("ref-ns", 0, "reference: the good commit's number (see -measure), in ns/op")
	refRun := fs.String("ref", "", "reference: a stored run directory; -stat of its boots' medians")
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
	accel := fs.String("accel", "auto", "auto, kvm or tcg")
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
	ref, refDesc := *refNS, fmt.Sprintf("%.1f ns/op", *refNS)
	var refAccel string
	if *refRun != "" {
		var err error
		if ref, refAccel, err = runReference(*refRun, *refCell, *bench, *stat); err != nil {
			return abort(err)
		}
		refDesc = fmt.Sprintf("%.1f ns/op (%s)", ref, *refRun)
	}
	if err := kernels.CheckBuildTools(ctx); err != nil {
		return abort(err)
	}
	var err error
	if *cache == "" {
		if *cache, err = kernels.DefaultCacheDir(); err != nil {
			return abort(err)
		}
	}
	srcDir, err := kharnessSource(*src)
	if err != nil {
		return abort(err)
	}
	var makeLog io.Writer
	if *verbose {
		makeLog = stderr
	}
	b, err := kernels.BuildTree(ctx, kernels.BuildOptions{Tree: *tree, CacheDir: *cache, Fragment: *fragment, Jobs: *jobs, Log: makeLog})
	if ctx.Err() != nil {
		return &exitError2{exitInterrupted, harness.ErrInterrupted}
	}
	if errors.Is(err, kernels.ErrBuildFailed) {
		commit, _ := kernels.TreeCommit(ctx, *tree)
		fmt.Fprintf(stderr, "bisect-run %s: build failed: skip\n", short(commit))
		return &exitError2{bisectSkip, err}
	}
	if err != nil {
		return abort(err)
	}
	built := fmt.Sprintf("built in %.1fs", b.Duration.Seconds())
	if b.Cached {
		built = "build cached"
	}
	for i, w := range b.Warnings {
		if i == 5 {
			fmt.Fprintf(stderr, "bisect-run: and %d more config changes (see %s)\n", len(b.Warnings)-i, b.Kernel.ConfigPath)
			break
		}
		fmt.Fprintf(stderr, "bisect-run: olddefconfig set %s\n", w)
	}

	img, err := initramfs.Build(ctx, initramfs.Options{SourceDir: srcDir, CacheDir: *cache})
	if err != nil {
		return abort(err)
	}
	ch, err := harness.ChooseAccel(ctx, *accel, func(ctx context.Context, accel string) error {
		return harness.ProbeKernel(ctx, *qemu, b.Kernel, img.Path, accel)
	})
	if err != nil {
		return abort(err)
	}
	if refAccel != "" && refAccel != ch.Accel {
		return abort(fmt.Errorf("the reference %s ran under %s, this step under %s: the numbers do not compare", *refRun, refAccel, ch.Accel))
	}
	params := guest.Params{Run: regexp.QuoteMeta("Benchmark"+*bench) + "$", Benchtime: *benchtime, Count: *count}
	cmdline := strings.Join(slices.DeleteFunc(append([]string{harness.BaseCmdline, strings.TrimSpace(*extra)}, params.Args()...),
		func(s string) bool { return s == "" }), " ")
	vm := harness.VMOptions{QEMU: *qemu, Kernel: b.Kernel.Path, Initrd: img.Path, Cmdline: cmdline, Accel: ch.Accel}
	meds, fails, err := bootSteps(ctx, vm, *boots, *timeout, *bench, stderr)
	if errors.Is(err, harness.ErrInterrupted) || ctx.Err() != nil {
		return &exitError2{exitInterrupted, harness.ErrInterrupted}
	}
	if err != nil {
		return abort(err)
	}
	var each []string
	for _, m := range meds {
		each = append(each, fmt.Sprintf("%.0f", m))
	}
	head := fmt.Sprintf("bisect-run %s: %s, boots %d/%d ok [%s] (%s, load %s)", short(b.Commit), built, len(meds), *boots, strings.Join(each, " "), ch.Accel, loadAvg())
	if len(meds) == 0 || len(meds)*2 <= *boots {
		fmt.Fprintf(stderr, "%s: too few boots: skip\n", head)
		return &exitError2{bisectSkip, fmt.Errorf("%d of %d boots failed: %s", len(fails), *boots, strings.Join(fails, "; "))}
	}
	med := stats.Median(meds)
	if *stat == "min" {
		med = slices.Min(meds)
	}
	if *measure {
		fmt.Fprintf(stderr, "%s, %s %.1f ns/op\n", head, *stat, med)
		fmt.Fprintf(stdout, "%s %.1f ns/op\n", b.Commit, med)
		return nil
	}
	change := med/ref - 1
	verdict, code := "good", bisectGood
	if change > float64(threshold) {
		verdict, code = "bad", bisectBad
	}
	fmt.Fprintf(stderr, "%s, %s %.1f ns/op vs ref %s (%+.1f%%, threshold %s): %s\n",
		head, *stat, med, refDesc, change*100, threshold.String(), verdict)
	if code == bisectGood {
		return nil
	}
	return &exitError2{code, nil}
}

// bootSteps boots vm n times and returns the median of bench's samples in
// each boot that succeeded, and the reasons of those that did not.
func bootSteps(ctx context.Context, vm harness.VMOptions, n int, deadline time.Duration, bench string, stderr io.Writer) (meds []float64, fails []string, err error) {
	dir, err := os.MkdirTemp("", "kharness-bisect-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	for i := 0; i < n; i++ {
		v, err := harness.Boot(ctx, harness.BootSpec{VM: vm, Deadline: deadline},
			filepath.Join(dir, "console.log"), filepath.Join(dir, "results.raw"))
		if err != nil {
			return nil, nil, err
		}
		var samples []float64
		if v.Status.OK() {
			for _, r := range v.Stream.Results {
				for _, val := range r.Values {
					if r.Name == bench && val.Unit == "ns/op" {
						samples = append(samples, val.Value)
					}
				}
			}
		}
		if len(samples) == 0 {
			reason := fmt.Sprintf("%s: %s", v.Status, v.Reason)
			if v.Status.OK() {
				reason = "no " + bench + " ns/op result (skipped by the guest?)"
			}
			fails = append(fails, reason)
			fmt.Fprintf(stderr, "bisect-run: boot %d failed: %s\n", i+1, stream.SafeText(reason, 300))
			for _, l := range tail.Last(v.ConsoleTail, 5) {
				fmt.Fprintf(stderr, "  console: %s\n", stream.SafeText(l, 200))
			}
			continue
		}
		meds = append(meds, stats.Median(samples))
	}
	return meds, fails, nil
}

// runReference reads the reference from a stored run: the median (or min)
// over its ok boots of each boot's median of bench, in ns/op, and the accelerator
// they ran under.
func runReference(dir, cell, bench, stat string) (float64, string, error) {
	boots, err := store.LoadBoots(dir)
	if err != nil {
		return 0, "", err
	}
	// The same reading as compare and bisect: each boot's file checked
	// against its sha256, every value validated, the host guard applied.
	re := regexp.MustCompile("^" + regexp.QuoteMeta(bench) + "$")
	perCell := map[string][]float64{}
	accel := map[string]string{}
	for _, b := range boots {
		if !b.Status.OK() || (cell != "" && b.Cell != cell) || perCell[b.Cell] != nil {
			continue
		}
		c := b.Cell
		vals, _, _, err := stats.BootSamples([]string{dir}, func(r *store.BootRecord) bool { return r.Cell == c }, re, "sec/op", stats.StatMedian, 0)
		if errors.Is(err, stats.ErrNoBenchmark) || (err == nil && len(vals) == 0) {
			continue // this cell has no such benchmark, or no usable boot
		}
		if err != nil {
			return 0, "", err
		}
		for i := range vals {
			vals[i] *= 1e9
		}
		perCell[c], accel[c] = vals, b.Accel
	}
	cells := slices.Sorted(maps.Keys(perCell))
	switch {
	case len(cells) == 0:
		return 0, "", fmt.Errorf("-ref %s: no ok boot with %s in ns/op%s", dir, bench, map[bool]string{true: " in cell " + cell}[cell != ""])
	case len(cells) > 1:
		return 0, "", fmt.Errorf("-ref %s has %s in several cells (%s): choose one with -ref-cell", dir, bench, strings.Join(cells, ", "))
	}
	if stat == "min" {
		return slices.Min(perCell[cells[0]]), accel[cells[0]], nil
	}
	return stats.Median(perCell[cells[0]]), accel[cells[0]], nil
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
