package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"kharness/harness"
	"kharness/harness/shell"
	"kharness/harness/vm"
	"kharness/initramfs"
	"kharness/kernels"
)

var familyRE = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)

// parseKernelArg reads a kernel as the command line names it: the forms of
// kernels.ParseSource, a bare family ("6.12"), a Debian package name, or the
// path of a bzImage.
func parseKernelArg(arg string) (kernels.Source, error) {
	switch {
	case familyRE.MatchString(arg):
		return kernels.Source{Family: arg}, nil
	case strings.HasPrefix(arg, "linux-image-"):
		s := kernels.Source{Package: arg}
		return s, s.Validate()
	case strings.Contains(arg, ":"):
		return kernels.ParseSource(arg)
	}
	if _, err := os.Stat(arg); err != nil {
		return kernels.Source{}, fmt.Errorf("kernel %q: not a family (6.1), package (linux-image-...), source (family:6.1/cloud-amd64) or file: %v", arg, err)
	}
	return kernels.Source{Path: arg}, nil
}

// shellCmd boots one kernel with the benchmark image and hands the user a
// shell on its console.
func shellCmd(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("shell", flag.ContinueOnError)
	fs.SetOutput(stderr)
	accel := accelFlag(fs, "auto", "auto, kvm or tcg")
	cache := fs.String("cache", "", "cache for kernels and images (default $KHARNESS_CACHE or the XDG cache)")
	qemu := fs.String("qemu", vm.DefaultQEMU, "QEMU binary")
	smp := fs.Int("smp", 1, "guest vCPUs")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kharness shell [flags] KERNEL [-- kernel arguments...]")
		fmt.Fprintln(stderr, "KERNEL: 6.12, linux-image-..., family:6.1/cloud-amd64, debian:PKG, file:PATH or a bzImage path")
		fmt.Fprintln(stderr, "exit, poweroff or Ctrl-D in the guest ends it; Ctrl-] stops the VM")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return errUsage
	}
	src, err := parseKernelArg(fs.Arg(0))
	if err != nil {
		return err
	}
	extra := fs.Args()[1:]
	if len(extra) > 0 && extra[0] == "--" {
		extra = extra[1:]
	}
	srcDir, err := cacheAndSource(cache)
	if err != nil {
		return err
	}
	cand, err := kernels.Resolve(ctx, src)
	if err != nil {
		return err
	}
	k, err := (&kernels.Cache{Dir: *cache}).Fetch(ctx, cand, src)
	if err != nil {
		return err
	}
	img, err := initramfs.BuildShell(ctx, initramfs.Options{SourceDir: srcDir, CacheDir: *cache, Log: func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }})
	if err != nil {
		return err
	}
	ch, err := vm.ChooseAccel(ctx, string(*accel), func(ctx context.Context, accel string) error {
		return harness.ProbeKernel(ctx, *qemu, k, img.Path, accel)
	})
	if err != nil {
		return err
	}
	if ch.Note != "" {
		fmt.Fprintln(stderr, ch.Note)
	}
	fmt.Fprintf(stderr, "booting %s (%s) under %s; Ctrl-] stops the VM\n", k.Release, k.Source, ch.Accel)
	err = shell.Shell(ctx, shell.ShellOptions{Kernel: k, Image: img.Path, Accel: ch.Accel, SMP: *smp,
		Cmdline: strings.Join(extra, " "), QEMU: *qemu, In: stdin, Out: stdout})
	if errors.Is(err, vm.ErrInterrupted) {
		return &exitError2{exitInterrupted, err}
	}
	return err
}
