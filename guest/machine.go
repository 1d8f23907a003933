//go:build linux

package guest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// linuxMachine is the real machine of guest mode.
type linuxMachine struct {
	console io.Writer // fallback for Flood
}

// Prepare mounts /proc and /sys if they are not mounted.
func (linuxMachine) Prepare() error {
	var errs []error
	for _, m := range []struct{ probe, dir, fstype string }{
		{"/proc/self/stat", "/proc", "proc"},
		{"/sys/kernel", "/sys", "sysfs"},
	} {
		if _, err := os.Stat(m.probe); err == nil {
			continue
		}
		if err := os.MkdirAll(m.dir, 0o555); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := unix.Mount(m.fstype, m.dir, m.fstype, 0, ""); err != nil {
			errs = append(errs, fmt.Errorf("mount %s on %s: %w", m.fstype, m.dir, err))
		}
	}
	return errors.Join(errs...)
}

// Cmdline reads /proc/cmdline.
func (linuxMachine) Cmdline() (string, error) {
	b, err := os.ReadFile("/proc/cmdline")
	return string(b), err
}

// OpenPort opens ResultsPort write-only, without making it the controlling
// tty, creating the device node (char 4:65) if devtmpfs lacks it, and puts
// it in raw mode at 115200 baud so that "\n" goes out as is.
func (linuxMachine) OpenPort() (io.Writer, error) {
	const flags = unix.O_WRONLY | unix.O_NOCTTY | unix.O_NONBLOCK | unix.O_CLOEXEC
	fd, err := unix.Open(ResultsPort, flags, 0)
	if errors.Is(err, fs.ErrNotExist) {
		if err := unix.Mknod(ResultsPort, unix.S_IFCHR|0o600, int(unix.Mkdev(4, 65))); err != nil {
			return nil, fmt.Errorf("mknod %s: %w", ResultsPort, err)
		}
		fd, err = unix.Open(ResultsPort, flags, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", ResultsPort, err)
	}
	if err := makeRaw(fd); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %w", ResultsPort, err)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %w", ResultsPort, err)
	}
	return os.NewFile(uintptr(fd), ResultsPort), nil
}

// makeRaw sets fd's termios like cfmakeraw, with CLOCAL and 115200 baud.
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return fmt.Errorf("get termios: %w", err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR |
		unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CBAUD
	t.Cflag |= unix.CS8 | unix.CLOCAL | unix.CREAD | unix.B115200
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return fmt.Errorf("set termios: %w", err)
	}
	return nil
}

// Drain waits for the tty to send everything (tcdrain) and syncs.
func (linuxMachine) Drain(w io.Writer) {
	if f, ok := w.(*os.File); ok {
		if err := unix.IoctlSetInt(int(f.Fd()), unix.TCSBRK, 1); err != nil {
			fmt.Fprintf(os.Stderr, "kguest: tcdrain: %v\n", err)
		}
		f.Sync() // a tty may not support fsync; the drain above is what counts
	}
	unix.Sync()
}

// PowerOff syncs and powers off; if that fails it hangs. A kernel without
// ACPI (the small configs kharness builds from a tree) cannot power off:
// asked to, it halts, and QEMU would wait for the deadline. There the guest
// restarts instead, which QEMU, started with -no-reboot, takes as the end.
func (m linuxMachine) PowerOff() {
	unix.Sync()
	cmd := unix.LINUX_REBOOT_CMD_POWER_OFF
	if _, err := os.Stat("/sys/firmware/acpi"); err != nil {
		cmd = unix.LINUX_REBOOT_CMD_RESTART
	}
	err := unix.Reboot(cmd)
	fmt.Fprintf(os.Stderr, "kguest: power off failed: %v\n", err)
	m.Hang()
}

// Hang blocks forever. It sleeps rather than select{}, which the Go runtime
// would report as a deadlock (and exit, panicking u-root's init).
func (linuxMachine) Hang() {
	for {
		time.Sleep(time.Hour)
	}
}

// Flood writes "kharness flood" lines to /dev/console (or the console
// writer) forever.
func (m linuxMachine) Flood() {
	var w io.Writer = m.console
	if f, err := os.OpenFile("/dev/console", os.O_WRONLY|unix.O_NOCTTY, 0); err == nil {
		w = f
	}
	line := []byte("kharness flood\n")
	for {
		if _, err := w.Write(line); err != nil {
			time.Sleep(time.Millisecond)
		}
	}
}

// Crash asks the kernel to panic through /proc/sysrq-trigger. The panic
// happens inside the write, so a return means it did not happen (no
// CONFIG_MAGIC_SYSRQ, or no /proc).
func (linuxMachine) Crash() error {
	unix.Sync()
	if err := os.WriteFile("/proc/sysrq-trigger", []byte("c"), 0); err != nil {
		return err
	}
	return errors.New("wrote c to /proc/sysrq-trigger and the kernel is still running")
}

// clocksourcePath names the kernel's current clocksource.
const clocksourcePath = "/sys/devices/system/clocksource/clocksource0/current_clocksource"

// SettleClock waits, up to 3 s, while the clocksource is tsc-early. On x86
// the kernel refines its TSC calibration a second after it registers the
// TSC and only then switches to "tsc": a boot that reaches its first
// benchmark sooner (under TCG the guest starts about 2.2 s in, the switch
// comes near 2.4 s) would time across the switch, and its header would
// name the clock it is about to leave. Under KVM the TSC's frequency is
// known, the kernel never starts on tsc-early, and nothing waits.
func (linuxMachine) SettleClock(log io.Writer) {
	start := time.Now()
	cs := readTrimmed(clocksourcePath)
	for cs == "tsc-early" && time.Since(start) < 3*time.Second {
		time.Sleep(10 * time.Millisecond)
		cs = readTrimmed(clocksourcePath)
	}
	if d := time.Since(start); d >= 10*time.Millisecond {
		fmt.Fprintf(log, "kguest: waited %v for the clocksource to leave tsc-early: %s\n", d.Round(time.Millisecond), cs)
	}
}

// Shells the shell mode tries, in order: u-root's gosh as the busybox
// links it, then the default shell link.
var shells = []string{"/bin/gosh", "/bbin/gosh", "/bin/sh"}

// Shell runs u-root's gosh on the console (ttyS0) as its controlling
// terminal, in a session of its own, with the guest program on the PATH.
func (linuxMachine) Shell() error {
	tty, err := os.OpenFile("/dev/ttyS0", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer tty.Close()
	var sh string
	for _, s := range shells {
		if _, err := os.Stat(s); err == nil {
			sh = s
			break
		}
	}
	if sh == "" {
		return fmt.Errorf("no shell in the image (tried %v)", shells)
	}
	cmd := exec.Command(sh)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.Env = append(os.Environ(), "PATH=/bin:/bbin:/ubin:/sbin:/usr/bin", "HOME=/",
		// TERM=screen keeps gosh's line editor from querying the terminal
		// (colours, cursor position): over an emulated UART the answers can
		// arrive after it gave up and land in the command line.
		"TERM=screen")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	return cmd.Run()
}
