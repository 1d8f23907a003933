package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"kharness/harness"
	"kharness/harness/mitigations"
	"kharness/harness/vm"
	"kharness/kernels"
	"kharness/results/show"
	"kharness/results/stats"
	"kharness/results/store"
)

// mitigationsCmd is "kharness mitigations KERNEL...": a probe boot of each
// kernel reads which mitigations it runs on this CPU model, then the
// matrix (default, mitigations=off, one config a mitigation off, pti=on
// where Meltdown needs none, randomize_kstack_offset=off) runs and each
// config is compared with the default.
func mitigationsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mitigations", flag.ContinueOnError)
	fs.SetOutput(stderr)
	boots := fs.Int("boots", 5, "boots per kernel and config (5: the fewest at which a Mann-Whitney test reaches p < 0.01)")
	bench := fs.String("bench", mitigations.DefaultMitigationsBench, "regexp: the benchmarks each mitigation is priced on")
	cpu := fs.String("cpu", "", "guest -cpu for every boot (default: qemu64 under TCG, host under KVM): the mitigations are those the kernel runs on this model")
	accel := accelFlag(fs, "auto", "auto, kvm or tcg")
	flavour := fs.String("flavour", kernels.DefaultFlavour, "Debian kernel flavour for families and releases")
	out := fs.String("o", "", "directory (default runs/mitigations-<time>): probe/ and matrix/ go under it; an existing one is resumed")
	cache := fs.String("cache", "", "cache for kernels and images (default $KHARNESS_CACHE or the XDG cache)")
	qemu := fs.String("qemu", vm.DefaultQEMU, "QEMU binary")
	jobs := fs.Int("j", 0, "concurrent VMs (default: free host cores less one for QEMU)")
	alpha := fs.Float64("alpha", 0.05, "significance level of the calls")
	correct := fs.Bool("host-correct", true, "scale host-slow samples to the host's fast state instead of setting them aside: every config is compared with one default cell, and set aside on a busy host it kept 3-4 of 5 boots, too few to call pti=on's ×20")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kharness mitigations [-boots 5] [-cpu MODEL] [-bench RE] [-o DIR] KERNEL...")
		fmt.Fprintln(stderr, "KERNEL: a family (6.12), a release (6.12.117), a Debian package or a bzImage path.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		if err == nil {
			fs.Usage()
		}
		return errUsage
	}
	if err := checkBootFlags(fs); err != nil {
		return err
	}
	if *boots < 1 || *boots > 100 {
		return badFlag(fmt.Errorf("-boots %d: want 1..100", *boots))
	}
	if !(*alpha > 0 && *alpha < 1) {
		return badFlag(fmt.Errorf("-alpha %v: want a level in (0, 1)", *alpha))
	}
	if *out == "" {
		*out = filepath.Join("runs", "mitigations-"+time.Now().Format("20060102-150405"))
	}
	var ks []harness.KernelConfig
	for _, arg := range fs.Args() {
		s, err := attributeKernel(ctx, arg, *flavour)
		if err != nil {
			return fmt.Errorf("kernel %q: %w", arg, err)
		}
		name := kernelName(arg)
		for _, k := range ks {
			if k.Name == name {
				return badFlag(fmt.Errorf("kernel %q named twice", arg))
			}
		}
		ks = append(ks, harness.KernelConfig{Name: name, Package: s.Package, Family: s.Family, Flavour: s.Flavour, Path: s.Path, SHA256: s.SHA256, Suite: s.Suite})
	}
	src, err := cacheAndSource(cache)
	if err != nil {
		return err
	}
	p := &harness.Progress{W: stderr, TTY: isTerminal(stderr)}
	res, err := mitigations.Mitigations(ctx, mitigations.MitigationsOptions{
		Kernels: ks, Boots: *boots, Bench: *bench, CPU: *cpu, Accel: string(*accel),
		Run: harness.RunOptions{OutDir: *out, CacheDir: *cache, SourceDir: src, QEMU: *qemu, Jobs: *jobs, Progress: p,
			Command: append([]string{"kharness", "mitigations"}, args...)},
	})
	if res != nil {
		writeVulns(stdout, res)
	}
	if errors.Is(err, vm.ErrInterrupted) {
		return &exitError2{exitInterrupted, err}
	}
	if err != nil {
		return err
	}
	tab, err := stats.Compare([]string{res.Matrix}, stats.CompareOptions{Column: "config", Alpha: *alpha, HostCorrect: *correct})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	return show.WriteText(stdout, tab)
}

// kernelName is a kernel argument as a cell name: "6.12", "6.12.117";
// a path's base name.
func kernelName(arg string) string {
	n := []byte(filepath.Base(arg))
	for i, c := range n {
		if !store.NameByte(c) {
			n[i] = '_'
		}
	}
	if len(n) > 40 {
		n = n[:40]
	}
	return strings.ReplaceAll(string(n), "--", "-_")
}

// writeVulns prints what the probe boots found and the matrix built
// from it.
func writeVulns(w io.Writer, res *mitigations.MitigationsResult) {
	for _, k := range slices.Sorted(maps.Keys(res.Vulns)) {
		fmt.Fprintf(w, "%s: /sys/devices/system/cpu/vulnerabilities\n", k)
		for _, v := range slices.Sorted(maps.Keys(res.Vulns[k])) {
			fmt.Fprintf(w, "  %-26s %s\n", v, res.Vulns[k][v])
		}
	}
	fmt.Fprintf(w, "\nconfigs beside default:\n")
	for _, kn := range res.Knobs {
		why := kn.Why
		if why == "" {
			why = "every mitigation at once"
		}
		fmt.Fprintf(w, "  %-28s %-32s %s\n", kn.Config, kn.Cmdline, why)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}
