package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"time"

	"kharness/harness"
	"kharness/harness/attribute"
	"kharness/harness/vm"
	"kharness/kernels"
)

// releaseRE matches a kernel named by its release or a prefix of it
// ("6.1.0-47", "6.12.117"): the family is its first two numbers.
var releaseRE = regexp.MustCompile(`^([0-9]+\.[0-9]+)\.[0-9]`)

// attributeKernel reads a kernel as attribute's -a and -b name it: the
// forms shell takes (a family such as 6.1, a package, a source, a bzImage),
// or a release or its prefix as bisect takes them ("6.1.0-47"), found in
// its family's list.
func attributeKernel(ctx context.Context, arg, flavour string) (kernels.Source, error) {
	src, err := parseKernelArg(arg)
	if err == nil {
		if src.Family != "" {
			src.Flavour = flavour
		}
		return src, nil
	}
	m := releaseRE.FindStringSubmatch(arg)
	if m == nil {
		return kernels.Source{}, err
	}
	cs, lerr := kernels.ListFamily(ctx, m[1], flavour)
	i, ferr := 0, lerr
	if lerr == nil {
		i, ferr = findKernel(cs, arg)
	}
	if ferr != nil {
		// Not in the system's apt lists: every Debian suite kharness
		// knows (7.0.13, 7.1.3 are only in trixie-backports).
		var aerr error
		if cs, aerr = listFamilies(ctx, m[1], flavour, kernels.AllSuites, nil); aerr != nil {
			return kernels.Source{}, fmt.Errorf("%v; in Debian's other suites: %v", ferr, aerr)
		}
		if i, ferr = findKernel(cs, arg); ferr != nil {
			return kernels.Source{}, ferr
		}
	}
	return kernels.Source{Package: cs[i].Package, Suite: cs[i].Suite}, nil
}

// attributeCmd boots two kernels with the counting plugin in profile mode
// and prints, per benchmark, which kernel functions its kernel
// instructions per operation come from and how they differ.
func attributeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("attribute", flag.ContinueOnError)
	fs.SetOutput(stderr)
	a := fs.String("a", "", "kernel A: a family (6.1), a release or its prefix (6.1.0-47), a package, a source or a bzImage")
	b := fs.String("b", "", "kernel B, as -a")
	flavour := fs.String("flavour", kernels.DefaultFlavour, "Debian kernel flavour for families and releases")
	bench := fs.String("bench", attribute.DefaultAttributeBench, "regexp: the benchmarks run and profiled")
	top := fs.Int("top", 15, "functions shown per benchmark, the largest changes first (0: all); the rest are summed")
	boots := fs.Int("boots", 1, "boots per kernel")
	cmdline := fs.String("cmdline", "", "extra kernel arguments for every boot")
	benchtime := fs.String("benchtime", "20ms", "one timed sample before the count phase (the calibration sets the counted stretches)")
	out := fs.String("o", "", "run directory (default runs/attribute-<time>); an existing one with the same kernels and flags is resumed")
	asJSON := fs.Bool("json", false, "print JSON instead of the table")
	cache := fs.String("cache", "", "cache for kernels and images (default $KHARNESS_CACHE or the XDG cache)")
	qemu := fs.String("qemu", vm.DefaultQEMU, "QEMU binary")
	jobs := fs.Int("j", 0, "concurrent VMs (default: free host cores less one for QEMU)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kharness attribute -a KERNEL -b KERNEL [-bench REGEX] [-top N] [-o DIR] [-json]")
		fmt.Fprintln(stderr, "Boots both kernels under TCG with the counting plugin profiling kernel blocks, and")
		fmt.Fprintln(stderr, "prints each benchmark's kernel instructions per operation by kernel function.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || *a == "" || *b == "" || fs.NArg() != 0 {
		if err == nil {
			fs.Usage()
		}
		return errUsage
	}
	if err := checkBootFlags(fs); err != nil {
		return err
	}
	if *top < 0 {
		return badFlag(fmt.Errorf("-top %d: want 0 (all) or more", *top))
	}
	if *out == "" {
		*out = filepath.Join("runs", "attribute-"+time.Now().Format("20060102-150405"))
	}
	srcA, err := attributeKernel(ctx, *a, *flavour)
	if err != nil {
		return fmt.Errorf("-a: %w", err)
	}
	srcB, err := attributeKernel(ctx, *b, *flavour)
	if err != nil {
		return fmt.Errorf("-b: %w", err)
	}
	src, err := cacheAndSource(cache)
	if err != nil {
		return err
	}
	p := &harness.Progress{W: stderr, TTY: isTerminal(stderr)}
	p.Logf("attribute %s: %s vs %s, benchmarks %s", *out, srcA, srcB, *bench)
	r, err := attribute.Attribute(ctx, attribute.AttributeOptions{
		A: srcA, B: srcB, Bench: *bench, Boots: *boots, Cmdline: *cmdline, Benchtime: *benchtime,
		Run: harness.RunOptions{OutDir: *out, CacheDir: *cache, SourceDir: src, QEMU: *qemu, Jobs: *jobs, Progress: p,
			Command: append([]string{"kharness", "attribute"}, args...)},
	})
	if errors.Is(err, vm.ErrInterrupted) {
		return &exitError2{exitInterrupted, err}
	}
	if err != nil {
		return err
	}
	if *asJSON {
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		return e.Encode(r)
	}
	attribute.WriteAttribution(stdout, r, *top)
	return nil
}
