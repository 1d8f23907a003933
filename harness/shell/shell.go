// Package shell boots a kernel with the shell image and hands the console
// to the terminal: one interactive VM, without the run.
package shell

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"time"

	"kharness/guest"
	"kharness/harness/vm"
	"kharness/kernels"

	"golang.org/x/sys/unix"
)

// ShellOptions describe an interactive boot.
type ShellOptions struct {
	Kernel  *kernels.Kernel
	Image   string
	Accel   string // resolved: kvm or tcg
	CPU     string
	SMP     int
	Cmdline string // extra kernel arguments
	QEMU    string
	In      *os.File // the user's terminal (or any file)
	Out     io.Writer
}

// EscapeByte (Ctrl-]) typed on the terminal stops the VM, for a guest that
// no longer answers.
const EscapeByte = 0x1d

// Shell boots a kernel with the benchmark image in shell mode and connects
// the console to In and Out: the guest runs u-root's gosh on ttyS0 with the
// benchmark program on its PATH. It returns when the guest powers off
// (exit, poweroff or Ctrl-D in the shell), when the user types Ctrl-], or
// when ctx ends; QEMU never outlives it. A terminal on In is put in raw mode
// for the session and restored.
func Shell(ctx context.Context, opt ShellOptions) error {
	sockDir, err := os.MkdirTemp("", "kharness-vm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(sockDir)
	shell := strings.Join(guest.Params{Mode: guest.ModeShell}.Args(), " ")
	cmdline := vm.BaseCmdline + " " + shell
	if opt.Cmdline != "" {
		cmdline = vm.BaseCmdline + " " + opt.Cmdline + " " + shell
	}
	vmo := vm.VMOptions{QEMU: opt.QEMU, Kernel: opt.Kernel.Path, Initrd: opt.Image, Cmdline: cmdline,
		Accel: opt.Accel, CPU: opt.CPU, SMP: opt.SMP, SocketDir: sockDir}
	if restore, err := makeRaw(opt.In); err == nil {
		defer restore()
	}
	m, err := vm.Start(ctx, vmo, opt.Out, io.Discard)
	if err != nil {
		return err
	}
	escaped := make(chan struct{})
	if in := m.ConsoleInput(); in != nil {
		go copyInput(in, opt.In, escaped)
	}
	select {
	case <-m.Exited():
	case <-escaped:
		m.Stop(2 * time.Second)
	case <-ctx.Done():
		m.Stop(2 * time.Second)
	}
	werr := m.Wait()
	if ctx.Err() != nil {
		return vm.ErrInterrupted
	}
	if werr != nil && !m.ShutdownSeen() {
		return errors.New(vm.ExitReason(werr, m.Stderr()))
	}
	return nil
}

// copyInput forwards the user's bytes to the console until EOF or Ctrl-].
func copyInput(dst io.Writer, src io.Reader, escaped chan<- struct{}) {
	buf := make([]byte, 256)
	for {
		n, err := src.Read(buf)
		for i := 0; i < n; i++ {
			if buf[i] == EscapeByte {
				dst.Write(buf[:i])
				close(escaped)
				return
			}
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// makeRaw puts a terminal in raw mode, so Ctrl-C and Ctrl-D reach the
// guest, and returns how to restore it.
func makeRaw(f *os.File) (func(), error) {
	if f == nil {
		return nil, errors.New("no input")
	}
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	raw := *old
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, err
	}
	return func() { unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}
