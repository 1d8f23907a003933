package vm

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Why QEMU ended, said once and cause first: what QEMU printed, else how
// it ended (a SIGKILL from outside says "killed by SIGKILL"); never the
// QMP error its end caused, never a dangling ": " where it printed
// nothing.

// startError is why QEMU did not come up, in one line. qmpErr, the error
// the QMP connection met, is the cause only where kharness stopped QEMU
// (it did not answer); where QEMU ended by itself it is a consequence.
func (vm *VM) startError(qmpErr error) error {
	var cause []string
	if msg := stderrTail(vm.Stderr()); msg != "" {
		cause = append(cause, msg)
	}
	if vm.killed.Load() {
		cause = append([]string{qmpErr.Error()}, cause...)
		return fmt.Errorf("%w: %s", ErrQEMUStart, strings.Join(cause, "; "))
	}
	how := "QEMU " + exitHow(vm.waitErr)
	if len(cause) == 0 {
		return fmt.Errorf("%w: %s", ErrQEMUStart, how)
	}
	return fmt.Errorf("%w: %s (%s)", ErrQEMUStart, cause[0], how)
}

// ExitReason is a boot's reason when QEMU ended without a guest
// power-off.
func ExitReason(waitErr error, stderr string) string {
	how := "QEMU " + exitHow(waitErr) + " without a guest power-off"
	if msg := stderrTail(stderr); msg != "" {
		return msg + " (" + how + ")"
	}
	return how
}

// exitHow says how a process ended, from exec.Cmd.Wait's error: "exited
// with status 1", "was killed by SIGKILL".
func exitHow(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exited with status 0"
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			name := unix.SignalName(ws.Signal())
			if name == "" {
				name = fmt.Sprintf("signal %d", int(ws.Signal()))
			}
			return "was killed by " + name
		}
		return fmt.Sprintf("exited with status %d", ee.ExitCode())
	}
	return "ended: " + err.Error()
}
