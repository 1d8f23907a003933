// Package vm is one QEMU boot: QEMU's command line, its QMP monitor, the
// console scanner, the choice of accelerator, the instruction-counting
// plugin, and one boot's deadline and verdict. Given a kernel, an image
// and options it boots, watches, counts and returns the verdict and the
// captured streams; it knows nothing of matrices, cells, configs or jobs.
package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/digitalocean/go-qemu/qmp"
	"github.com/digitalocean/go-qemu/qmp/raw"
)

// VM is a running QEMU. Wait must be called; it reaps QEMU.
type VM struct {
	opts    VMOptions
	cmd     *exec.Cmd
	mon     *qmp.SocketMonitor
	raw     *raw.Monitor
	stderr  *tailBuffer
	exited  chan struct{}
	waitErr error
	copies  sync.WaitGroup
	lns     []net.Listener
	console net.Conn

	mu       sync.Mutex
	shutdown *qmp.Event  // the SHUTDOWN event, once seen
	killed   atomic.Bool // kharness killed QEMU

	// Accel is the accelerator QEMU reports over QMP ("kvm" or "tcg").
	Accel string
	// Version is QEMU's version as reported over QMP.
	Version string
	// Machine is the machine type QEMU resolved -machine to, read back over
	// QMP ("pc-i440fx-7.2-machine" for "pc"): a boot's record says which
	// versioned board it ran on, as a later QEMU's "pc" may be another.
	Machine string
	// RunState is QEMU's run state when QMP first answered ("prelaunch"
	// or "running").
	RunState string
	// Started is when QEMU was started.
	Started time.Time
}

// ErrQEMUStart means QEMU did not come up: a bad binary, bad argv, or an
// accelerator it could not open. The error carries QEMU's stderr.
var ErrQEMUStart = errors.New("qemu failed to start")

// Start launches QEMU, connects QMP and starts copying the console and the
// results port to the given writers. QEMU dies with kharness (parent-death
// signal) and sits in its own process group, so a terminal's ^C reaches
// kharness only and kharness stops QEMU in order.
func Start(ctx context.Context, opts VMOptions, console, results io.Writer) (*VM, error) {
	opts = opts.WithDefaults()
	vm := &VM{opts: opts, stderr: newTailBuffer(16 << 10), exited: make(chan struct{})}
	var conns [2]net.Conn
	var accepted sync.WaitGroup
	for i, p := range []string{opts.consoleSocket(), opts.resultsSocket()} {
		ln, err := net.Listen("unix", p)
		if err != nil {
			vm.closeListeners()
			return nil, fmt.Errorf("listening on %s: %w", p, err)
		}
		vm.lns = append(vm.lns, ln)
		accepted.Add(1)
		go func(i int, ln net.Listener) {
			defer accepted.Done()
			if c, err := ln.Accept(); err == nil {
				conns[i] = c
			}
		}(i, ln)
	}

	argv := opts.Argv()
	vm.cmd = exec.Command(argv[0], argv[1:]...)
	vm.cmd.Stdin = nil
	vm.cmd.Stdout = vm.stderr
	vm.cmd.Stderr = vm.stderr
	vm.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	vm.Started = time.Now()
	if err := vm.cmd.Start(); err != nil {
		vm.closeListeners()
		return nil, fmt.Errorf("%w: %v", ErrQEMUStart, err)
	}
	go func() {
		vm.waitErr = vm.cmd.Wait()
		close(vm.exited)
	}()

	if err := vm.connectQMP(ctx); err != nil {
		// QEMU exits by itself after most start-up failures; give it a
		// moment so its stderr, which says why, is complete.
		select {
		case <-vm.exited:
		case <-time.After(time.Second):
			vm.kill()
			<-vm.exited
		}
		vm.closeListeners()
		return nil, vm.startError(err)
	}
	// QEMU opened its client chardevs before QMP answered.
	accepted.Wait()
	vm.closeListeners()
	vm.console = conns[0]
	for i, w := range []io.Writer{console, results} {
		if conns[i] == nil {
			continue
		}
		vm.copies.Add(1)
		go func(c net.Conn, w io.Writer) {
			defer vm.copies.Done()
			io.Copy(w, c)
			c.Close()
		}(conns[i], w)
	}
	return vm, nil
}

func (vm *VM) closeListeners() {
	for _, ln := range vm.lns {
		ln.Close()
	}
	vm.lns = nil
}

// connectQMP dials QMP once QEMU has created its socket. QEMU creates it
// synchronously at start-up and then waits for us, so the loop ends as soon
// as QEMU is listening, exits, or ctx ends.
func (vm *VM) connectQMP(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		mon, err := qmp.NewSocketMonitor("unix", vm.opts.qmpSocket(), time.Second)
		if err == nil {
			// go-qemu's handshake and commands take no context: a QEMU
			// that accepts the socket and never answers would hold the
			// boot past its deadline. Stopping QEMU closes the socket,
			// which ends them.
			done := make(chan error, 1)
			go func() { done <- vm.handshake(mon) }()
			select {
			case err := <-done:
				return err
			case <-ctx.Done():
				vm.kill()
				<-done
				return fmt.Errorf("QMP did not answer: %v", ctx.Err())
			}
		}
		select {
		case <-vm.exited:
			return errors.New("QEMU exited before QMP answered")
		case <-ctx.Done():
			return fmt.Errorf("connecting to QMP: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// handshake greets QMP on mon and asks QEMU for its facts.
func (vm *VM) handshake(mon *qmp.SocketMonitor) error {
	if err := mon.Connect(); err != nil {
		return fmt.Errorf("QMP handshake: %v", err)
	}
	vm.mon = mon
	vm.raw = raw.NewMonitor(mon)
	events, _ := mon.Events(context.Background())
	go vm.drainEvents(events)
	return vm.queryFacts()
}

// drainEvents consumes QMP events for the VM's whole life: go-qemu blocks
// every later command while an event is left unread.
func (vm *VM) drainEvents(events <-chan qmp.Event) {
	for ev := range events {
		if ev.Event == "SHUTDOWN" {
			vm.mu.Lock()
			e := ev
			vm.shutdown = &e
			vm.mu.Unlock()
		}
	}
}

func (vm *VM) queryFacts() error {
	kvm, err := vm.raw.QueryKVM()
	if err != nil {
		return fmt.Errorf("QMP query-kvm: %w", err)
	}
	vm.Accel = "tcg"
	if kvm.Enabled {
		vm.Accel = "kvm"
	}
	st, err := vm.raw.QueryStatus()
	if err != nil {
		return fmt.Errorf("QMP query-status: %w", err)
	}
	vm.RunState = st.Status.String()
	v, err := vm.raw.QueryVersion()
	if err != nil {
		return fmt.Errorf("QMP query-version: %w", err)
	}
	vm.Version = fmt.Sprintf("%d.%d.%d", v.Qemu.Major, v.Qemu.Minor, v.Qemu.Micro)
	m, err := vm.raw.QomGet("/machine", "type")
	if err != nil {
		return fmt.Errorf("QMP qom-get /machine type: %w", err)
	}
	vm.Machine, _ = m.(string)
	if p := strings.TrimSpace(v.Package); p != "" {
		vm.Version += " (" + p + ")"
	}
	return nil
}

// ConsoleInput is the guest console's input: what is written to it reaches
// ttyS0. It is nil if QEMU never connected the console.
func (vm *VM) ConsoleInput() io.Writer {
	if vm.console == nil {
		return nil
	}
	return vm.console
}

// Exited is closed when QEMU has exited.
func (vm *VM) Exited() <-chan struct{} { return vm.exited }

// ShutdownSeen reports whether the guest shut down (QMP SHUTDOWN event).
func (vm *VM) ShutdownSeen() bool {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.shutdown != nil
}

// Stop asks QEMU to quit over QMP and kills it if it has not exited within
// grace. It returns once QEMU is gone.
func (vm *VM) Stop(grace time.Duration) {
	select {
	case <-vm.exited:
		return
	default:
	}
	go vm.raw.Quit() // go-qemu's Run takes no context: never wait on it
	select {
	case <-vm.exited:
	case <-time.After(grace):
		vm.kill()
		<-vm.exited
	}
}

func (vm *VM) kill() {
	if vm.cmd.Process != nil {
		vm.killed.Store(true)
		vm.cmd.Process.Kill()
	}
}

// Wait waits for QEMU to exit and for the console and results copies to
// finish, then returns QEMU's exit error, if any.
func (vm *VM) Wait() error {
	<-vm.exited
	vm.copies.Wait()
	if vm.mon != nil {
		vm.mon.Disconnect()
	}
	return vm.waitErr
}

// Stderr is the tail of what QEMU printed, less its note that it waits for
// the QMP connection.
func (vm *VM) Stderr() string { return cleanStderr(vm.stderr.String()) }

func cleanStderr(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.Contains(l, "info: QEMU waiting for connection") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// tailBuffer keeps the last n bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	n   int
	buf []byte
}

func newTailBuffer(n int) *tailBuffer { return &tailBuffer{n: n} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.n {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.n:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
