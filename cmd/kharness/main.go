// Command kharness boots a matrix of Linux kernels under QEMU, runs the guest
// benchmark suite in each boot, and compares syscall and context-switch
// costs across kernels and boot configs.
//
// Exit status: 0 success; 1 error; 2 bad usage; 3 the run finished but some
// boots failed after their retries; 4 compare called a regression (a
// benchmark's median worse than the first column's by more than -threshold,
// with a Mann-Whitney U p-value below -alpha; the table is still printed);
// 5 bisect stopped undecided; 130 interrupted (SIGINT/SIGTERM; run the
// same command again to resume).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"

	"kharness/initramfs"
	"kharness/kernels"
)

const usage = `usage: kharness <command> [flags] [args]

commands:
  run [-o DIR] [-j N] [-accel auto|kvm|tcg] CONFIG.toml   boot the matrix, store results, print the table
  compare [-col config|kernel] [-format text|csv|json]    compare stored runs (several dirs merge into one run);
          [-alpha 0.05] [-threshold 2%] [-force] RUN...   exit 4 if a regression is called
  report [-o report.html] [-col config|kernel] RUN...     write an HTML page: plots, the table, every boot's logs
  bisect -good K1 -bad K2 [-family 6.1,6.12] [-bench RE]  find the first released kernel where a benchmark changed
  doctor                                                   what this host offers a run (QEMU, plugins, KVM, cores, cache, kernels) and what it lacks
  kernels [-suite S] [-family 7]                           list the Debian kernels of every suite kharness knows, in version order
  history [-o DIR] [-j N] [-family F]                      count every listed cloud kernel, one page of steps with their functions
  nightly -history DIR CONFIG.toml                         run every kernel of the config's families the history lacks; trend report
  bisect-run -ref-ns N|-ref RUN [-C TREE] [-config F]     for git bisect run: build the tree's kernel, boot; exit 0 good, 1 bad, 125 skip
  lava [-o DIR] [-url BASE] CONFIG.toml | lava -read DIR   LAVA jobs (qemu device) for the matrix; read their logs back into a run
  shell [-accel A] KERNEL [-- kernel args...]              boot a kernel with the benchmark image and get a shell on its console
  attribute -a K1 -b K2 [-bench RE] [-top N] [-o DIR]     under TCG: each benchmark's kernel instructions per op by kernel function, A vs B
  seed RUN... | fidelity RUN...                            the seed post's lat_ctx table (configs/seed.toml); Go ÷ C (configs/fidelity.toml)
  mitigations [-boots 5] [-cpu MODEL] KERNEL...            each mitigation the kernel runs on this CPU model, turned off one at a time: its price, called
  syscall2002 RUN...                                       int $0x80 vs the fast 32-bit entry per kernel and CPU vendor (configs/syscall2002.toml)

Run "kharness <command> -h" for a command's flags.
`

// Exit codes.
const (
	exitError       = 1
	exitUsage       = 2
	exitBootsFailed = 3
	exitRegression  = 4
	exitInterrupted = 130
)

type exitError2 struct {
	code int
	err  error
}

func (e *exitError2) Error() string { return e.err.Error() }

// badFlag is a flag value that fails its check: exit status 2 (bad usage),
// with the message.
func badFlag(err error) error {
	if err == nil {
		return nil
	}
	return &exitError2{exitUsage, err}
}
func (e *exitError2) Unwrap() error { return e.err }

var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exitError2
	switch {
	case errors.Is(err, errUsage):
		return exitUsage
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintln(stderr, "kharness:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "kharness:", err)
	return exitError
}

// run is the whole command, callable from tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "run":
		return runCmd(ctx, args[1:], stdout, stderr)
	case "compare":
		return interruptible(ctx, func() error { return compareCmd(args[1:], stdout, stderr) })
	case "report":
		return interruptible(ctx, func() error { return reportCmd(args[1:], stdout, stderr) })
	case "bisect":
		return bisectCmd(ctx, args[1:], stdout, stderr)
	case "history":
		return historyCmd(ctx, args[1:], stdout, stderr)
	case "nightly":
		return nightlyCmd(ctx, args[1:], stdout, stderr)
	case "doctor":
		return doctorCmd(ctx, args[1:], stdout, stderr)
	case "mitigations":
		return mitigationsCmd(ctx, args[1:], stdout, stderr)
	case "kernels":
		return interruptible(ctx, func() error { return kernelsCmd(ctx, args[1:], stdout, stderr) })
	case "bisect-run":
		return bisectRunCmd(ctx, args[1:], stdout, stderr)
	case "lava":
		return lavaCmd(ctx, args[1:], stdout, stderr)
	case "shell":
		return shellCmd(ctx, args[1:], os.Stdin, stdout, stderr)
	case "attribute":
		return attributeCmd(ctx, args[1:], stdout, stderr)
	case "seed", "fidelity", "syscall2002":
		return interruptible(ctx, func() error { return tableCmd(args[0], args[1:], stdout, stderr) })
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "kharness: unknown command %q\n%s", args[0], usage)
	return errUsage
}

// interruptible runs f, a command that reads stored runs and starts
// nothing, and returns its error, or an interrupted exit (130) as soon as
// ctx ends (SIGINT, SIGTERM): whatever f was reading, the process exits
// at once, and f's partial output, if any, is all there is.
func interruptible(ctx context.Context, f func() error) error {
	if ctx.Err() != nil {
		return &exitError2{exitInterrupted, errors.New("interrupted")}
	}
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return &exitError2{exitInterrupted, errors.New("interrupted")}
	}
}

// isTerminal reports whether w is a terminal, for the progress line.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// cacheAndSource fills in the default cache directory when *cache is empty
// and finds the kharness source tree the image is built from.
func cacheAndSource(cache *string) (string, error) {
	if *cache == "" {
		d, err := kernels.DefaultCacheDir()
		if err != nil {
			return "", err
		}
		*cache = d
	}
	wd, _ := os.Getwd()
	return initramfs.FindSourceDir(wd)
}
