//go:build linux

package guest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Options say where and how Run runs.
type Options struct {
	// Guest selects guest mode: running as u-root's uinit in the VM. The
	// kharness.* words of /proc/cmdline override Params, results go to
	// ResultsPort, and the VM is powered off at the end, even on error.
	// Only guest mode ever powers off, hangs, floods or crashes anything.
	Guest bool
	// Output is the host-mode output file; "" or "-" means Stdout.
	Output string
	// Params are the run parameters (the base for the cmdline in guest mode).
	Params Params
	// Suite is what the stream modes run (cmd/kguest: guest/bench's).
	Suite Suite
	// Stdout and Stderr default to os.Stdout and os.Stderr.
	Stdout, Stderr io.Writer
}

// ResultsPort is the guest's results port: the second serial port.
const ResultsPort = "/dev/ttyS1"

// ErrorPrefix starts the comment line that reports a failure in the stream;
// a failed stream never has an end marker.
const ErrorPrefix = "# kharness-error: "

// Run runs the program. In host mode it writes the stream of a stream mode
// to opts.Output and returns. In guest mode it never returns: it powers the
// VM off, or hangs, floods or crashes it as the mode asks.
func Run(ctx context.Context, opts Options) error {
	if len(opts.Suite.Benchmarks) == 0 {
		return errors.New("guest.Run: Options.Suite has no benchmarks")
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.Guest {
		runGuest(ctx, opts, linuxMachine{console: opts.Stderr})
		panic("unreachable: guest mode returned")
	}
	return runHost(ctx, opts)
}

// runHost is host mode: no tty setup, no power-off.
func runHost(ctx context.Context, opts Options) error {
	p := opts.Params
	if err := p.Validate(); err != nil {
		return err
	}
	if !p.Mode.HasStream() {
		return fmt.Errorf("mode %q only runs in the guest (-guest)", p.Mode)
	}
	w := opts.Stdout
	var f *os.File
	if opts.Output != "" && opts.Output != "-" {
		var err error
		if f, err = os.Create(opts.Output); err != nil {
			return err
		}
		w = f
	}
	err := WriteStream(ctx, w, opts.Suite, p, SystemConfig(opts.Suite, p), opts.Stderr)
	if err != nil {
		writeError(w, err)
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// writeError writes the "# kharness-error: ..." line for err to w.
func writeError(w io.Writer, err error) {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	io.WriteString(w, ErrorPrefix+SanitizeValue(msg)+"\n")
}

// machine is what guest mode does to the VM, so that tests can run the
// guest-mode flow against a fake that powers nothing off.
type machine interface {
	// Prepare mounts /proc and /sys where they are missing.
	Prepare() error
	// Cmdline returns the kernel command line.
	Cmdline() (string, error)
	// OpenPort opens the results port in raw mode.
	OpenPort() (io.Writer, error)
	// Drain waits until w (from OpenPort) has sent everything and syncs.
	Drain(w io.Writer)
	// PowerOff powers the machine off; it does not return.
	PowerOff()
	// Hang blocks forever.
	Hang()
	// Flood writes to the console forever.
	Flood()
	// Crash panics the kernel; it returns only if that failed.
	Crash() error
	// Shell runs an interactive shell on the console until it exits.
	Shell() error
	// SettleClock waits, within a bound, until the kernel has left its
	// early clocksource, and says on log when it waited.
	SettleClock(log io.Writer)
}

// runGuest is guest mode. It ends in m.PowerOff, m.Hang, m.Flood or a kernel
// panic, and never returns with a real machine.
func runGuest(ctx context.Context, opts Options, m machine) {
	log := opts.Stderr
	fmt.Fprintf(log, "kguest: guest mode, pid %d\n", os.Getpid())
	var port io.Writer
	fail := func(err error) {
		fmt.Fprintf(log, "kguest: error: %v\n", err)
		if port != nil {
			writeError(port, err)
			m.Drain(port)
		}
		fmt.Fprintf(log, "kguest: powering off\n")
		m.PowerOff()
	}
	if err := m.Prepare(); err != nil {
		fmt.Fprintf(log, "kguest: %v\n", err) // go on: the stream shows what is missing
	}
	var err error
	if port, err = m.OpenPort(); err != nil {
		port = nil
		fail(fmt.Errorf("opening results port: %w", err))
		return
	}
	cmdline, err := m.Cmdline()
	if err != nil {
		fail(fmt.Errorf("reading kernel command line: %w", err))
		return
	}
	p, ignored, err := ParseCmdline(cmdline, opts.Params)
	if len(ignored) > 0 {
		fmt.Fprintf(log, "kguest: ignoring unknown parameters %v\n", ignored)
	}
	if err != nil {
		fail(err)
		return
	}
	fmt.Fprintf(log, "kguest: mode=%s run=%q benchtime=%v count=%d\n", p.Mode, p.Run, p.Benchtime, p.Count)
	switch p.Mode {
	case ModeHang:
		fmt.Fprintf(log, "kguest: hanging on purpose\n")
		m.Hang()
		return
	case ModeFlood:
		m.Flood()
		return
	case ModeShell:
		fmt.Fprintf(log, "kguest: shell on the console; 'exit', 'poweroff' or Ctrl-D powers off\n")
		if err := m.Shell(); err != nil {
			fmt.Fprintf(log, "kguest: shell: %v\n", err)
		}
		m.PowerOff()
		return
	case ModeCrash:
		fmt.Fprintf(log, "kguest: crashing the kernel on purpose\n")
		fail(fmt.Errorf("kernel did not panic: %w", m.Crash()))
		return
	}
	if p.Mode != ModeProbe {
		// The stream's modes but the probe time something.
		m.SettleClock(log)
	}
	start := time.Now()
	if err := WriteStream(ctx, port, opts.Suite, p, SystemConfig(opts.Suite, p), log); err != nil {
		fail(err)
		return
	}
	m.Drain(port)
	fmt.Fprintf(log, "kguest: done in %v, powering off\n", time.Since(start).Round(time.Millisecond))
	m.PowerOff()
}
