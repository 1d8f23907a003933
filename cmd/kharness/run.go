package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"kharness/harness"
	"kharness/harness/vm"
	"kharness/results/show"
	"kharness/results/stats"
)

// runFlags are `kharness run`'s flags, defined once by newRunFlags: runCmd
// parses its arguments with them, and TestDeployJobArgsParse parses
// deploy/job.yaml's with them, so the manifest cannot pass a flag run lacks.
type runFlags struct {
	out, cache, qemu, col, insns, shard, profile *string
	jobs, maxBoots                               *int
	verbose, until, decideTime                   *bool
	alpha, slow                                  *float64
	accel                                        *accelValue
	threshold                                    thresholdFlag
}

// newRunFlags defines run's flags on a new flag set writing to stderr.
func newRunFlags(stderr io.Writer) (*flag.FlagSet, *runFlags) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &runFlags{threshold: thresholdFlag(0.02)}
	f.out = fs.String("o", "", "run directory (default runs/<config>-<time>); an existing one is resumed")
	f.jobs = fs.Int("j", 0, "concurrent VMs (default: free host cores less one for QEMU, ÷ vCPUs; never more than cores ÷ vCPUs)")
	f.accel = accelFlag(fs, "", "override the config's accelerator: auto, kvm or tcg")
	f.cache = fs.String("cache", "", "cache for kernels and images (default $KHARNESS_CACHE or the XDG cache)")
	f.qemu = fs.String("qemu", vm.DefaultQEMU, "QEMU binary")
	f.col = fs.String("col", "config", "table column axis: config or kernel")
	f.verbose = fs.Bool("v", false, "log each boot's QEMU command line, quoted for pasting")
	f.until = fs.Bool("until-decided", false, "after the configured boots, add boots to cells whose comparison (against the first -col value) is neither called nor clearly within -threshold, up to -max-boots")
	f.maxBoots = fs.Int("max-boots", 20, "with -until-decided: most boots per cell")
	f.decideTime = fs.Bool("decide-time", false, "with -until-decided: add boots for timed comparisons too where the benchmark has an exact count (by default, under TCG, the count decides)")
	f.alpha = fs.Float64("alpha", 0.05, "significance level of calls")
	fs.Var(&f.threshold, "threshold", "smallest change called, as \"2%\" or 0.02")
	f.slow = slowFactorFlag(fs)
	f.insns = fs.String("insns", "", "override the config's exact instruction counts: auto, on or off")
	f.profile = fs.String("profile", "first", "under TCG counting, profile kernel functions on one extra boot of each cell of 2 boots or more (first), every boot (all) or none (off): compare then names the functions behind each called exact change; a profiled boot's times are set aside (the profiler slows the guest)")
	f.shard = fs.String("shard", "", "run only shard i/n of the matrix's cells (auto/n: i from JOB_COMPLETION_INDEX or a Slurm array task's SLURM_ARRAY_TASK_ID)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kharness run [flags] CONFIG.toml")
		fs.PrintDefaults()
	}
	return fs, f
}

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newRunFlags(stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	cfgPath := fs.Arg(0)
	if err := checkRunFlags(*f.col, *f.alpha, *f.insns); err != nil {
		return badFlag(err)
	}
	if !slices.Contains([]string{"first", "all", "off"}, *f.profile) {
		return badFlag(fmt.Errorf("-profile %q: want first, all or off", *f.profile))
	}
	sf, err := slowFactor(*f.slow)
	if err != nil {
		return badFlag(err)
	}
	th := float64(f.threshold)
	if th == 0 {
		th = -1 // CompareOptions reads 0 as the default; below 0 is no threshold
	}
	shard, err := harness.ParseShard(*f.shard)
	if err != nil {
		return badFlag(err)
	}
	cfg, err := harness.LoadConfig(cfgPath)
	if err != nil {
		return err
	}
	if string(*f.accel) != "" {
		cfg.Accel = string(*f.accel)
	}
	if *f.out == "" {
		*f.out = defaultRunDir(cfgPath, shard)
	}
	src, err := cacheAndSource(f.cache)
	if err != nil {
		return err
	}
	p := &harness.Progress{W: stderr, TTY: isTerminal(stderr)}
	p.Logf("run %s: %d kernels × %d configs × %d boots", *f.out, len(cfg.Kernels), len(cfg.Configs), cfg.Boots)
	sum, err := harness.Run(ctx, harness.RunOptions{
		Config: cfg, ConfigPath: cfgPath, OutDir: *f.out, Jobs: *f.jobs, CacheDir: *f.cache,
		SourceDir: src, QEMU: *f.qemu, Command: append([]string{"kharness", "run"}, args...), Progress: p, Verbose: *f.verbose, Shard: shard,
		UntilDecided: *f.until, MaxBoots: *f.maxBoots, DecideTime: *f.decideTime, Column: *f.col, Alpha: *f.alpha, Threshold: th, SlowFactor: sf, Insns: *f.insns,
		Profile: *f.profile == "all", ProfileFirst: *f.profile == "first",
	})
	if errors.Is(err, vm.ErrInterrupted) {
		return &exitError2{exitInterrupted, err}
	}
	if err != nil {
		return err
	}
	p.Logf("accelerator %s; %d boots in %s (-j %d), %d failed attempts", sum.Accel.Accel, sum.Boots, sum.Wall.Round(time.Second), sum.Jobs, sum.Failed)
	return runReport(stdout, stderr, sum, *f.out, stats.CompareOptions{Column: *f.col, Alpha: *f.alpha, Threshold: th, SlowFactor: sf}, *f.until)
}

// checkRunFlags checks run's -col, -alpha and -insns.
func checkRunFlags(col string, alpha float64, insns string) error {
	switch {
	case col != "config" && col != "kernel":
		return fmt.Errorf("-col %q: want config or kernel", col)
	case !(alpha > 0 && alpha < 1):
		return fmt.Errorf("-alpha %v: want a level in (0, 1), such as 0.05", alpha)
	case insns != "" && !slices.Contains(vm.InsnsModes, insns):
		return fmt.Errorf("-insns %q: want auto, on or off", insns)
	}
	return nil
}

// defaultRunDir is where a run of the config at cfgPath goes without -o:
// runs/<config>-<time>, and the shard when the matrix is split.
func defaultRunDir(cfgPath string, shard harness.Shard) string {
	base := strings.TrimSuffix(filepath.Base(cfgPath), filepath.Ext(cfgPath))
	out := filepath.Join("runs", base+"-"+time.Now().Format("20060102-150405"))
	if shard.Count > 1 {
		out += fmt.Sprintf("-shard%dof%d", shard.Index, shard.Count)
	}
	return out
}

// runReport prints a finished run's table, how -until-decided left each
// comparison, and the boots that failed after their retries (exit 3).
func runReport(stdout, stderr io.Writer, sum *harness.RunSummary, out string, opt stats.CompareOptions, until bool) error {
	tab, err := stats.Compare([]string{out}, opt)
	if err != nil {
		return err
	}
	if err := show.WriteText(stdout, tab); err != nil {
		return err
	}
	if until {
		fmt.Fprintln(stdout, "\nuntil decided:")
		for _, d := range sum.Decisions {
			fmt.Fprintln(stdout, "  "+d.String())
		}
	}
	fmt.Fprintf(stdout, "\nresults: %s\n", out)
	if len(sum.BadBoots) > 0 {
		for _, b := range sum.BadBoots {
			fmt.Fprintln(stderr, "failed:", b)
		}
		return &exitError2{exitBootsFailed, fmt.Errorf("%d boots failed after retries", len(sum.BadBoots))}
	}
	return nil
}
