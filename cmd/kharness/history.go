package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"kharness/harness"
	"kharness/harness/history"
	"kharness/harness/vm"
	"kharness/kernels"
)

// historyCmd counts every Debian cloud kernel kharness lists (or those of
// some families) into a directory, booting only those it lacks, and writes
// the page of their steps.
func historyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("o", "runs/history", "history directory: one run directory a kernel, history.html and history.md")
	family := fs.String("family", "", "only these families, comma-separated (6.1,6.12 or 7); default every kernel `kharness kernels` lists")
	flavour := fs.String("flavour", kernels.DefaultFlavour, "Debian kernel flavour")
	bench := fs.String("bench", history.HistoryBench, "benchmarks to count (regexp)")
	maxBoots := fs.Int("max-boots", 3, "boots a kernel at most: one, and another while a benchmark has no exact count")
	retry := fs.Bool("retry-failed", false, "boot again kernels recorded as failed")
	cache := fs.String("cache", "", "cache for kernels and images")
	jobs := fs.Int("j", 0, "kernels booted at once (default: host cores; a count does not depend on the host's load)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kharness history [-o DIR] [-j N] [-family F]")
		fmt.Fprintln(stderr, "Boots, once each with the counting plugin in profile mode, every Debian cloud kernel the history lacks,\nthen writes DIR/history.html (each benchmark's exact kernel instructions per operation over the kernels,\nevery step marked, steps of 2 or more with their functions) and DIR/history.md (the same as a table).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() != 0 {
		return badFlag(fmt.Errorf("history takes no arguments, got %q", fs.Args()))
	}
	if *maxBoots < 1 || *jobs < 0 {
		return badFlag(fmt.Errorf("-max-boots %d and -j %d: want 1 or more and 0 or more", *maxBoots, *jobs))
	}
	src, err := cacheAndSource(cache)
	if err != nil {
		return err
	}
	p := &harness.Progress{W: stderr, TTY: false}
	var cs []kernels.Candidate
	if *family != "" {
		if cs, err = familyKernels(ctx, *cache, *family, *flavour, p); err != nil {
			return err
		}
	}
	res, err := history.History(ctx, history.HistoryOptions{Dir: *dir, Kernels: cs, Flavour: *flavour, Bench: *bench, MaxBoots: *maxBoots,
		RetryFailed: *retry, Run: harness.RunOptions{CacheDir: *cache, SourceDir: src, QEMU: vm.DefaultQEMU, Jobs: *jobs, Progress: p}})
	if errors.Is(err, vm.ErrInterrupted) {
		return &exitError2{exitInterrupted, err}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d kernels: booted %d, %d failed, %d already in %s (%s)\n", len(res.Records), len(res.Ran), len(res.Failed), len(res.Skipped), *dir, res.Wall.Round(1e9))
	for _, k := range res.Failed {
		fmt.Fprintln(stdout, "  failed:", k)
	}
	fmt.Fprintln(stdout, "page:", res.Page)
	fmt.Fprintln(stdout, "table:", res.Table)
	return nil
}

// familyKernels is every kernel of the comma-separated families, from
// every suite kharness knows, in order.
func familyKernels(ctx context.Context, cache, families, flavour string, p *harness.Progress) ([]kernels.Candidate, error) {
	a, err := kernels.OpenArchive(cache)
	if err != nil {
		return nil, err
	}
	a.Logf = p.Logf
	var cs []kernels.Candidate
	for _, f := range strings.Split(families, ",") {
		if err := (kernels.Source{Family: f, Flavour: flavour}).Validate(); err != nil {
			return nil, badFlag(err)
		}
		got, err := a.Family(ctx, f, flavour, "")
		if err != nil {
			return nil, err
		}
		cs = append(cs, got...)
	}
	return cs, nil
}
