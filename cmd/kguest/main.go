//go:build linux

// Command kguest is the kharness guest benchmark program. In the VM it is
// the image's /init, which starts it again as "kguest -guest" (u-root's
// init starts it so, as its uinit, in shell mode); it takes its parameters from the
// kharness.* words of the kernel command line, writes results to /dev/ttyS1
// and powers off. On the host, for tests, it writes the same stream to a
// file:
//
//	kguest -o FILE -run REGEXP -benchtime 50ms -count 3 [-mode MODE] [-fidelity -kref PATH]
//
// Asynchronous preemption is off (GODEBUG=asyncpreemptoff=1, set by
// re-executing itself): a timed assembly loop has no safe point, so the
// runtime's preemption signals would only add deliveries to what is
// measured.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"kharness/guest"
	"kharness/guest/bench"
)

func main() {
	if guest.IsInit() {
		guest.InitMain() // never returns
	}
	noAsyncPreempt()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "kguest: %v\n", err)
		os.Exit(1)
	}
}

// noAsyncPreempt re-executes the program with asyncpreemptoff=1 added to
// GODEBUG, unless it is there (the image's init starts the guest with it);
// the process keeps its pid (its parent waits for it). If the exec fails
// it goes on as it is.
func noAsyncPreempt() {
	g := os.Getenv("GODEBUG")
	if strings.Contains(g, guest.AsyncPreemptOff) {
		return
	}
	os.Setenv("GODEBUG", guest.WithAsyncPreemptOff(g))
	err := syscall.Exec("/proc/self/exe", os.Args, os.Environ())
	fmt.Fprintf(os.Stderr, "kguest: re-exec with GODEBUG=%s: %v\n", guest.AsyncPreemptOff, err)
}

// errUsage reports bad command-line arguments (already explained on stderr).
var errUsage = errors.New("usage")

// run parses args and runs guest.Run on the suite of guest/bench. With
// -guest it never returns.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	d := guest.DefaultParams()
	fs := flag.NewFlagSet("kguest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := guest.Options{Suite: bench.Suite(), Stdout: stdout, Stderr: stderr}
	fs.BoolVar(&opts.Guest, "guest", false, "run as the VM's uinit: read kharness.* from /proc/cmdline, write to "+guest.ResultsPort+", power off")
	fs.StringVar(&opts.Output, "o", "-", "host mode: output `file` (- is stdout)")
	fs.StringVar(&opts.Params.Run, "run", d.Run, "run benchmarks matching `regexp`")
	fs.DurationVar(&opts.Params.Benchtime, "benchtime", d.Benchtime, "target `duration` of one sample")
	fs.IntVar(&opts.Params.Count, "count", d.Count, "`samples` per benchmark")
	fs.BoolVar(&opts.Params.Fidelity, "fidelity", false, "after the suite, run the fidelity check: Go vs the C reference")
	fs.StringVar(&opts.Params.Kref, "kref", d.Kref, "the C reference `program` of the fidelity check")
	fs.StringVar((*string)(&opts.Params.CountSched), "countsched", string(d.CountSched), "scheduling `policy` of the count phase of switching benchmarks: fifo, batch or default")
	mode := fs.String("mode", string(d.Mode), fmt.Sprintf("`mode`, one of %v", guest.Modes))
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kguest: unexpected arguments %q\n", fs.Args())
		return errUsage
	}
	opts.Params.Mode = guest.Mode(*mode)
	return guest.Run(ctx, opts)
}
