package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"kharness/internal/tail"
	"kharness/results/store"
	"kharness/results/stream"
)

// BootSpec is everything one boot needs.
type BootSpec struct {
	VM       VMOptions     // SocketDir is filled in by Boot
	Deadline time.Duration // from QEMU's start to the guest's power-off
	// ConsoleLimit and ResultsLimit cap what a guest may print; beyond
	// them the boot is a flood and stops.
	ConsoleLimit int64
	ResultsLimit int64
}

// Base kernel arguments for every boot: the console on ttyS0, reboot at once
// on a panic (QEMU's -no-reboot turns that into an exit), and a quiet boot
// so the emulated UART costs little time.
const baseCmdline = "console=ttyS0 panic=-1 quiet"

// BaseCmdline is baseCmdline for callers that build their own VMOptions.
const BaseCmdline = baseCmdline

// Verdict is what one boot came to: the stream when it succeeded, a status
// and reason either way, and what a person needs to see.
type Verdict struct {
	Status      store.Status
	Reason      string
	Stream      *stream.Stream
	ConsoleTail []string
	PanicLines  []string
	Oops        []string
	Accel       string
	QEMUVersion string
	Machine     string // the machine type, as QEMU reports it
	Argv        []string
	Wall        time.Duration
	FirstResult time.Duration // QEMU start to the first byte on the results port
	// Stderr is the tail of QEMU's stderr (empty where QEMU did not start:
	// Reason carries it then).
	Stderr string
}

// ErrInterrupted means the boot was stopped because kharness was told to stop.
var ErrInterrupted = errors.New("interrupted")

// Boot runs one VM to its end and judges it. The console goes to
// consolePath and the raw results port to resultsPath as they arrive.
// It returns an error only when it could not judge the boot at all (files
// not writable) or when ctx ended (ErrInterrupted); every guest or QEMU
// failure is a Verdict.
func Boot(ctx context.Context, spec BootSpec, consolePath, resultsPath string) (*Verdict, error) {
	if spec.ConsoleLimit <= 0 {
		spec.ConsoleLimit = 4 << 20
	}
	if spec.ResultsLimit <= 0 {
		spec.ResultsLimit = 1 << 20
	}
	cleanStaleVMDirs()
	sockDir, err := os.MkdirTemp("", fmt.Sprintf("kharness-vm-%d-", os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("creating VM socket dir: %w", err)
	}
	defer os.RemoveAll(sockDir)
	spec.VM.SocketDir = sockDir

	conFile, err := os.Create(consolePath)
	if err != nil {
		return nil, fmt.Errorf("creating console log: %w", err)
	}
	defer conFile.Close()
	resFile, err := os.Create(resultsPath)
	if err != nil {
		return nil, fmt.Errorf("creating results file: %w", err)
	}
	defer resFile.Close()

	scan := NewConsoleScanner(spec.ConsoleLimit)
	res := &capture{limit: spec.ResultsLimit, first: make(chan struct{})}
	v := &Verdict{Argv: spec.VM.Argv()}

	// A full disk must not stop the copy from QEMU (the guest would block
	// on its port and look hung): file errors are kept and reported after.
	conOut, resOut := &fileWriter{f: conFile}, &fileWriter{f: resFile}
	// The deadline covers QEMU's start too: one that never opens or
	// answers its control socket is stopped with the rest.
	begun := time.Now()
	startCtx, cancelStart := context.WithTimeout(ctx, spec.Deadline)
	vm, err := Start(startCtx, spec.VM, io.MultiWriter(conOut, scan), io.MultiWriter(resOut, res))
	cancelStart()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ErrInterrupted
		}
		v.Status, v.Reason = store.StatusQEMUFailed, err.Error()
		if errors.Is(startCtx.Err(), context.DeadlineExceeded) {
			v.Status, v.Reason = store.StatusHang, fmt.Sprintf("QEMU did not answer on its control socket within the %v deadline; stopped: %v", spec.Deadline, err)
		}
		return v, nil
	}
	v.Accel, v.QEMUVersion, v.Machine = vm.Accel, vm.Version, vm.Machine

	o := watchVM(ctx, vm, res, scan.Events(), spec.Deadline-time.Since(begun))
	v.FirstResult = o.firstResult
	timedOut, interrupted, flooded := o.timedOut, o.interrupted, o.flooded
	waitErr := vm.Wait()
	v.Wall = time.Since(vm.Started)
	if interrupted {
		return nil, ErrInterrupted
	}
	for _, w := range []*fileWriter{conOut, resOut} {
		if w.err != nil {
			return nil, fmt.Errorf("writing %s: %w", w.f.Name(), w.err)
		}
	}
	v.ConsoleTail, v.Stderr = scan.Tail(40), vm.Stderr()
	v.PanicLines, _ = scan.Panic()
	v.Oops, _ = scan.Oops()
	judge(v, judgeInput{
		timedOut: timedOut, flooded: flooded || scan.Flooded() || res.overLimit(),
		shutdown: vm.ShutdownSeen(), waitErr: waitErr, stderr: vm.Stderr(),
		deadline: spec.Deadline, raw: res.bytes(), limit: spec.ResultsLimit,
	})
	return v, nil
}

// watched is how the wait for a VM ended, and when its first result byte
// came (0 if none did).
type watched struct {
	timedOut, interrupted, flooded bool
	firstResult                    time.Duration
}

// watchVM waits until the VM exits, floods its console or results port,
// outlives d, or ctx ends, stopping it in the last three cases.
func watchVM(ctx context.Context, vm *VM, res *capture, events <-chan Event, d time.Duration) (o watched) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	first := res.first
	for {
		select {
		case <-vm.Exited():
			return o
		case <-first:
			o.firstResult = time.Since(vm.Started)
			first = nil
			continue
		case ev := <-events:
			if ev.Kind != EventFlood {
				continue // a panic: QEMU exits by itself (panic=-1, -no-reboot)
			}
			o.flooded = true
		case <-res.overflow():
			o.flooded = true
		case <-deadline.C:
			o.timedOut = true
		case <-ctx.Done():
			o.interrupted = true
		}
		vm.Stop(2 * time.Second)
		return o
	}
}

type judgeInput struct {
	timedOut, flooded, shutdown bool
	waitErr                     error
	stderr                      string
	deadline                    time.Duration
	raw                         []byte
	limit                       int64
}

// judge turns what was observed into a status, most telling first: a panic
// or flood explains a hang or a broken stream, not the other way round.
func judge(v *Verdict, in judgeInput) {
	switch {
	case len(v.PanicLines) > 0:
		v.Status, v.Reason = store.StatusPanic, "kernel panic: "+v.PanicLines[0]
		return
	case in.flooded:
		v.Status, v.Reason = store.StatusFlood, fmt.Sprintf("guest printed more than the limit (console or results port); stopped")
		return
	case in.timedOut:
		v.Status, v.Reason = store.StatusHang, fmt.Sprintf("no power-off within %v; QEMU stopped", in.deadline)
		return
	}
	s, err := stream.Parse(bytes.NewReader(in.raw), in.limit)
	switch {
	case err == nil && len(v.Oops) > 0:
		v.Status, v.Reason = store.StatusOops, "kernel oops during the boot taints its results: "+v.Oops[0]
	case err == nil:
		v.Status, v.Stream = store.StatusOK, s
	case !in.shutdown && in.waitErr != nil:
		v.Status = store.StatusQEMUExit
		v.Reason = ExitReason(in.waitErr, in.stderr)
	case errors.Is(err, stream.ErrNoEndMarker):
		v.Status, v.Reason = store.StatusTruncated, err.Error()
	case errors.Is(err, stream.ErrCountMismatch):
		v.Status, v.Reason = store.StatusMiscount, err.Error()
	default:
		v.Status, v.Reason = store.StatusGarbled, err.Error()
	}
}

// capture keeps the results port's bytes up to a limit and signals the first
// byte and an overflow.
type capture struct {
	mu    sync.Mutex
	limit int64
	buf   []byte
	over  bool
	first chan struct{}
	once  sync.Once
	ovCh  chan struct{}
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(p) > 0 {
		c.once.Do(func() { close(c.first) })
	}
	if int64(len(c.buf)+len(p)) > c.limit {
		if !c.over {
			c.over = true
			close(c.overflowLocked())
		}
		return len(p), nil
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}

func (c *capture) overflowLocked() chan struct{} {
	if c.ovCh == nil {
		c.ovCh = make(chan struct{})
	}
	return c.ovCh
}

func (c *capture) overflow() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.overflowLocked()
}

func (c *capture) overLimit() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.over
}

func (c *capture) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.buf...)
}

// fileWriter writes to a file, keeps the first error and never fails, so
// the copy from QEMU goes on whatever the disk does.
type fileWriter struct {
	f   *os.File
	err error
}

func (w *fileWriter) Write(p []byte) (int, error) {
	if w.err == nil {
		_, w.err = w.f.Write(p)
	}
	return len(p), nil
}

// cleanStaleVMDirs removes, once a process, the socket directories that
// kharness processes killed with kill -9 left in the temporary directory:
// kharness-vm-<pid>-* whose pid no longer runs. Errors are ignored; this
// is housekeeping.
var cleanStaleVMDirs = sync.OnceFunc(func() { removeStaleVMDirs(os.TempDir()) })

// removeStaleVMDirs is cleanStaleVMDirs on the directory tmp.
func removeStaleVMDirs(tmp string) {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), "kharness-vm-")
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(filepath.Join(tmp, e.Name()))
		}
	}
}

// stderrTail is the last lines of QEMU's stderr, on one line, for an error
// message.
func stderrTail(stderr string) string {
	return stream.SafeText(strings.Join(tail.Lines(stderr, 5), " | "), 2000)
}
