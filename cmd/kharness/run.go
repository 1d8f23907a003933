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
	"kharness/results/show"
	"kharness/results/stats"
)

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "run directory (default runs/<config>-<time>); an existing one is resumed")
	jobs := fs.Int("j", 0, "concurrent VMs (default: free host cores less one for QEMU, ÷ vCPUs; never more than cores ÷ vCPUs)")
	accel := accelFlag(fs, "", "override the config's accelerator: auto, kvm or tcg")
	cache := fs.String("cache", "", "cache for kernels and images (default $KHARNESS_CACHE or the XDG cache)")
	qemu := fs.String("qemu", harness.DefaultQEMU, "QEMU binary")
	col := fs.String("col", "config", "table column axis: config or kernel")
	verbose := fs.Bool("v", false, "log each boot's QEMU command line, quoted for pasting")
	until := fs.Bool("until-decided", false, "after the configured boots, add boots to cells whose comparison (against the first -col value) is neither called nor clearly within -threshold, up to -max-boots")
	maxBoots := fs.Int("max-boots", 20, "with -until-decided: most boots per cell")
	decideTime := fs.Bool("decide-time", false, "with -until-decided: add boots for timed comparisons too where the benchmark has an exact count (by default, under TCG, the count decides)")
	alpha := fs.Float64("alpha", 0.05, "significance level of calls")
	threshold := thresholdFlag(0.02)
	fs.Var(&threshold, "threshold", "smallest change called, as \"2%\" or 0.02")
	slow := slowFactorFlag(fs)
	insns := fs.String("insns", "", "override the config's exact instruction counts: auto, on or off")
	shardFlag := fs.String("shard", "", "run only shard i/n of the matrix's cells (auto/n: i from JOB_COMPLETION_INDEX)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kharness run [flags] CONFIG.toml")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	cfgPath := fs.Arg(0)
	if err := checkRunFlags(*col, *alpha, *insns); err != nil {
		return badFlag(err)
	}
	sf, err := slowFactor(*slow)
	if err != nil {
		return badFlag(err)
	}
	th := float64(threshold)
	if th == 0 {
		th = -1 // CompareOptions reads 0 as the default; below 0 is no threshold
	}
	shard, err := harness.ParseShard(*shardFlag)
	if err != nil {
		return badFlag(err)
	}
	cfg, err := harness.LoadConfig(cfgPath)
	if err != nil {
		return err
	}
	if string(*accel) != "" {
		cfg.Accel = string(*accel)
	}
	if *out == "" {
		*out = defaultRunDir(cfgPath, shard)
	}
	src, err := cacheAndSource(cache)
	if err != nil {
		return err
	}
	p := &harness.Progress{W: stderr, TTY: isTerminal(stderr)}
	p.Logf("run %s: %d kernels × %d configs × %d boots", *out, len(cfg.Kernels), len(cfg.Configs), cfg.Boots)
	sum, err := harness.Run(ctx, harness.RunOptions{
		Config: cfg, ConfigPath: cfgPath, OutDir: *out, Jobs: *jobs, CacheDir: *cache,
		SourceDir: src, QEMU: *qemu, Command: append([]string{"kharness", "run"}, args...), Progress: p, Verbose: *verbose, Shard: shard,
		UntilDecided: *until, MaxBoots: *maxBoots, DecideTime: *decideTime, Column: *col, Alpha: *alpha, Threshold: th, SlowFactor: sf, Insns: *insns,
	})
	if errors.Is(err, harness.ErrInterrupted) {
		return &exitError2{exitInterrupted, err}
	}
	if err != nil {
		return err
	}
	p.Logf("accelerator %s; %d boots in %s (-j %d), %d failed attempts", sum.Accel.Accel, sum.Boots, sum.Wall.Round(time.Second), sum.Jobs, sum.Failed)
	return runReport(stdout, stderr, sum, *out, stats.CompareOptions{Column: *col, Alpha: *alpha, Threshold: th, SlowFactor: sf}, *until)
}

// checkRunFlags checks run's -col, -alpha and -insns.
func checkRunFlags(col string, alpha float64, insns string) error {
	switch {
	case col != "config" && col != "kernel":
		return fmt.Errorf("-col %q: want config or kernel", col)
	case !(alpha > 0 && alpha < 1):
		return fmt.Errorf("-alpha %v: want a level in (0, 1), such as 0.05", alpha)
	case insns != "" && !slices.Contains(harness.InsnsModes, insns):
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
