//go:build linux

package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Helper processes are this program again (/proc/self/exe, in the guest
// and in a host test binary alike), told what to be by its first argument.
const (
	selfExe     = "/proc/self/exe"
	argExit     = "-kguest-exit"     // exit at once: the exec of fork+exec
	argInt80    = "-kguest-int80"    // probe INT $0x80
	argVsyscall = "-kguest-vsyscall" // probe the vsyscall page
)

// Exit codes of the probes.
const (
	probeOK     = 0
	probeENOSYS = 3
	probeWrong  = 4
)

func init() {
	if len(os.Args) < 2 {
		return
	}
	switch os.Args[1] {
	case argExit:
		unix.Exit(0)
	case argServe:
		os.Exit(runServer(os.Args[2:]))
	case argInt80:
		defaultFaults()
		r := int80Loop(1)
		switch {
		case int(r) == -int(unix.ENOSYS):
			unix.Exit(probeENOSYS)
		case int(r) != unix.Getppid():
			unix.Exit(probeWrong)
		}
		unix.Exit(probeOK)
	case argVsyscall:
		defaultFaults()
		vsyscallLoop(1, &scratch[0])
		unix.Exit(probeOK)
	}
}

// defaultFaults gives SIGSEGV, SIGBUS and SIGILL their default action, so
// that a probe that faults dies of the signal (which its parent reports)
// instead of a Go panic.
func defaultFaults() {
	dfl := kernelSigaction{}
	for _, sig := range []unix.Signal{unix.SIGSEGV, unix.SIGBUS, unix.SIGILL} {
		rtSigaction(int(sig), &dfl, nil)
	}
}

// lockAndNoGC locks a peer to its OS thread and turns its GC off, as the
// timed process is while it samples.
func lockAndNoGC() {
	runtime.LockOSThread()
	debug.SetGCPercent(-1)
}

// workingSet returns words 32-bit words, touched, plus one so that &ws[0]
// is valid for 0 words.
func workingSet(words int) []uint32 {
	ws := make([]uint32, words+1)
	for i := range ws {
		ws[i] = uint32(i)
	}
	return ws
}

// probe runs this program with arg and returns why the feature it probes
// cannot be benchmarked, or "" when the probe exited 0.
func probe(arg, what string) string {
	cmd := exec.Command(selfExe, arg)
	cmd.Args[0] = "kguest"
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			return fmt.Sprintf("%s killed the process with %v", what, ws.Signal())
		}
		if ws.ExitStatus() == probeENOSYS {
			return what + " returned ENOSYS"
		}
		return fmt.Sprintf("%s: probe exited %d (wrong result)", what, ws.ExitStatus())
	}
	return fmt.Sprintf("%s: probe: %v", what, err)
}

// int80Skip says why INT $0x80 cannot be measured: no IA32 emulation
// (CONFIG_IA32_EMULATION=n, or ia32_emulation=0 on the command line).
func int80Skip() string {
	if why := probe(argInt80, "int $0x80"); why != "" {
		return why + ": no 32-bit compat entry (CONFIG_IA32_EMULATION=n or ia32_emulation=0)"
	}
	return ""
}

// vsyscallSkip says why the vsyscall page cannot be called.
func vsyscallSkip() string {
	if !hasMapping("[vsyscall]") {
		return "no vsyscall page (vsyscall=none, the default of Debian's kernels; boot with vsyscall=emulate or xonly)"
	}
	return probe(argVsyscall, "calling the vsyscall page")
}

// peer is a running helper process and the descriptors of our side.
type peer struct {
	cmds   []*exec.Cmd
	pids   []int // forked peers
	closer []int // our descriptors, closed first at stop so the peers see EOF
}

// sigAll is a signal mask holding every signal, at a fixed address.
var sigAll = ^uint64(0)

// fork starts a peer as LMbench's lat_pipe and lat_ctx do: forked, not
// exec'd. The child is a one-thread copy of this process that runs only
// the assembly echo loop (no Go runtime threads, timers or signals run in
// it, as none do in a forked C child): it reads a byte from rfd, sums
// words words of its own working set, writes the byte to wfd, until EOF.
// It first closes others, the descriptors that are not its own, so that
// EOF travels when the parent closes its ends. The caller still owns rfd
// and wfd and closes them once its peers are up.
func (p *peer) fork(rfd, wfd, words int, others []int) error {
	cl := make([]int32, 0, len(others)+1)
	for _, fd := range others {
		if fd != rfd && fd != wfd {
			cl = append(cl, int32(fd))
		}
	}
	cl = append(cl, -1) // so that &cl[0] is valid when there is none
	ws := workingSet(words)
	r := forkEcho(uintptr(rfd), uintptr(wfd), &scratch[0], &ws[0], uintptr(words), &cl[0], uintptr(len(cl)-1), &sigAll)
	if err := errno(r); err != nil {
		return fmt.Errorf("fork: %w", err)
	}
	p.pids = append(p.pids, int(r))
	return nil
}

// start runs this program with args and fds as its descriptors 3, 4, ...,
// and closes fds here.
func (p *peer) start(args []string, fds ...int) error {
	files := make([]*os.File, len(fds))
	for i, fd := range fds {
		files[i] = os.NewFile(uintptr(fd), "peer")
		defer files[i].Close()
	}
	cmd := exec.Command(selfExe, args...)
	cmd.Args[0] = "kguest-peer"
	cmd.ExtraFiles = files
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	p.cmds = append(p.cmds, cmd)
	return nil
}

// stop closes our descriptors and waits for every peer, at most 10 s.
func (p *peer) stop() error {
	for _, fd := range p.closer {
		unix.Close(fd)
	}
	var errs []error
	timer := time.AfterFunc(10*time.Second, func() {
		for _, c := range p.cmds {
			c.Process.Kill()
		}
		for _, pid := range p.pids {
			unix.Kill(pid, unix.SIGKILL)
		}
	})
	defer timer.Stop()
	for _, pid := range p.pids {
		var ws unix.WaitStatus
		_, err := unix.Wait4(pid, &ws, 0, nil)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("peer %d: %w", pid, err))
		case ws.Signaled():
			errs = append(errs, fmt.Errorf("peer %d: killed by %v", pid, ws.Signal()))
		case ws.ExitStatus() != 0:
			errs = append(errs, fmt.Errorf("peer %d: a read or write failed (exit %d)", pid, ws.ExitStatus()))
		}
	}
	for _, c := range p.cmds {
		if err := c.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("peer %d: %w", c.Process.Pid, err))
		}
	}
	return errors.Join(errs...)
}

// pipe2 returns a pipe's read and write ends.
func pipe2() (r, w int, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return 0, 0, err
	}
	return p[0], p[1], nil
}

// pipes returns the read and write ends of n pipes, or none on an error.
func pipes(n int) (rs, ws []int, err error) {
	rs, ws = make([]int, n), make([]int, n)
	for i := range rs {
		if rs[i], ws[i], err = pipe2(); err != nil {
			for j := 0; j < i; j++ {
				unix.Close(rs[j])
				unix.Close(ws[j])
			}
			return nil, nil, err
		}
	}
	return rs, ws, nil
}
