package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"kharness/harness"
	"kharness/harness/nightly"
	"kharness/harness/vm"
)

func nightlyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("nightly", flag.ContinueOnError)
	fs.SetOutput(stderr)
	history := fs.String("history", "", "history directory: one run directory a kernel, report.html and kcidb.json (required)")
	retry := fs.Bool("retry-failed", false, "run again kernels recorded as failed")
	cache := fs.String("cache", "", "cache for kernels and images")
	jobs := fs.Int("j", 0, "concurrent VMs (default: free host cores less one for QEMU, ÷ vCPUs)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kharness nightly -history DIR CONFIG.toml")
		fmt.Fprintln(stderr, "Runs the config's matrix on every kernel of its families that the history lacks, then rewrites DIR/report.html\nand DIR/kcidb.json (the history's results in KCIDB's JSON, as compare -format kcidb writes them). Each new kernel\nwhose exact count moved against the kernel before it gets one report a change in DIR/<kernel>/findings/.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() != 1 || *history == "" {
		fs.Usage()
		return errUsage
	}
	cfg, err := harness.LoadConfig(fs.Arg(0))
	if err != nil {
		return err
	}
	src, err := cacheAndSource(cache)
	if err != nil {
		return err
	}
	p := &harness.Progress{W: stderr, TTY: isTerminal(stderr)}
	res, err := nightly.Nightly(ctx, nightly.NightlyOptions{History: *history, RetryFailed: *retry,
		Run: harness.RunOptions{Config: cfg, CacheDir: *cache, SourceDir: src, QEMU: vm.DefaultQEMU, Jobs: *jobs, Progress: p}})
	if errors.Is(err, vm.ErrInterrupted) {
		return &exitError2{exitInterrupted, err}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ran %d kernels, %d failed, %d already in the history\n", len(res.Ran), len(res.Failed), len(res.Skipped))
	for _, k := range res.Ran {
		fmt.Fprintln(stdout, "  new:", k)
	}
	for _, k := range res.Failed {
		fmt.Fprintln(stdout, "  failed:", k)
	}
	for _, f := range res.Findings {
		fmt.Fprintln(stdout, "  finding:", f)
	}
	if res.Report != "" {
		fmt.Fprintln(stdout, "report:", res.Report)
		fmt.Fprintln(stdout, "kcidb:", res.KCIDB)
	}
	return nil
}
