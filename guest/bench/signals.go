//go:build linux

package bench

import (
	"fmt"
	"time"
	"unsafe"

	"kharness/guest"

	"golang.org/x/sys/unix"
)

// kernelSigaction is struct sigaction as rt_sigaction(2) takes it on amd64.
type kernelSigaction struct {
	handler, flags, restorer, mask uint64
}

// The kernel's sa_flags bits used here.
const (
	saOnstack  = 0x08000000
	saRestart  = 0x10000000
	saRestorer = 0x04000000
)

// sigOld holds the signal's action before a benchmark changed it, and
// sigAct the action a benchmark installs: package variables, at fixed
// addresses for the assembly loops.
var sigOld, sigAct kernelSigaction

// rtSigaction calls rt_sigaction(sig, act, old, 8).
func rtSigaction(sig int, act, old *kernelSigaction) error {
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(act)),
		uintptr(unsafe.Pointer(old)), 8, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// sigactionStart installs SIGUSR1's current action (the Go runtime's) again
// and again, like lat_sig install.
func sigactionStart(time.Duration) (*guest.Instance, error) {
	if err := rtSigaction(int(unix.SIGUSR1), nil, &sigAct); err != nil {
		return nil, fmt.Errorf("rt_sigaction: %w", err)
	}
	var last uintptr
	return &guest.Instance{
		Loop: func(n uint64) {
			last = sysLoop(uintptr(n), unix.SYS_RT_SIGACTION, uintptr(unix.SIGUSR1), uintptr(unsafe.Pointer(&sigAct)), 0, 8, 0)
		},
		Err: resultErr(&last),
	}, nil
}

// sigCatchStart installs an empty assembly handler for SIGUSR1 (what a C
// benchmark installs; Go's own handler does more) and sends the signal to
// this thread with tgkill: "kill self" in a threaded process. As lat_sig
// does, the cost of the same call with signal 0 is measured first and
// subtracted, leaving the delivery and the handler's entry and return.
func sigCatchStart(target time.Duration) (*guest.Instance, error) {
	h, r := sigAddrs()
	sigAct = kernelSigaction{handler: uint64(h), flags: saOnstack | saRestart | saRestorer, restorer: uint64(r)}
	if err := rtSigaction(int(unix.SIGUSR1), &sigAct, &sigOld); err != nil {
		return nil, fmt.Errorf("rt_sigaction: %w", err)
	}
	pid, tid := uintptr(unix.Getpid()), uintptr(unix.Gettid())
	var last uintptr
	kill := func(sig uintptr) func(uint64) {
		return func(n uint64) { last = sysLoop(uintptr(n), unix.SYS_TGKILL, pid, tid, sig, 0, 0) }
	}
	in := &guest.Instance{
		Loop:         kill(uintptr(unix.SIGUSR1)),
		OverheadLoop: kill(0),
		Err:          resultErr(&last),
		Stop:         func() error { return rtSigaction(int(unix.SIGUSR1), &sigOld, nil) },
	}
	return in, nil
}
