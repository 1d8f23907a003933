//go:build linux

package guest

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The image's /init is this program (InitMain). The kernel starts it as
// process 1; it sets up what the guest needs and runs the guest program
// (GuestPath -guest) as its child. u-root's init is in the image too,
// at UrootInit, and runs the shell mode: `kharness shell` gets u-root's
// whole environment, as before.
//
// Under TCG u-root's init cost a third of a second of every boot: its own
// Go runtime start (every first run of code is translated) and the
// namespace it builds (cgroup v1 hierarchies, devpts, securityfs, debugfs,
// efivarfs, a copy of /etc, the module directories), none of which the
// guest uses. InitMain builds what the guest does use, as u-root builds it:
// devtmpfs on /dev, proc, sysfs, a tmpfs /tmp (the serve benchmarks' files),
// u-root's environment, and the console as the guest's controlling terminal
// in a session of its own.
const (
	// GuestPath is the guest program in the image (initramfs.GuestPath
	// names the same file).
	GuestPath = "/bin/kguest"
	// UrootInit is u-root's init in the image's busybox.
	UrootInit = "/bbin/init"
)

// IsInit reports whether this process is the image's /init: process 1,
// started by the kernel as /init.
func IsInit() bool {
	return os.Getpid() == 1 && len(os.Args) > 0 && os.Args[0] == "/init"
}

// urootEnv is the environment u-root's init gives its uinit (libinit.SetEnv),
// so that the guest's processes start with the same one (exec copies it).
var urootEnv = []string{
	"LD_LIBRARY_PATH=/usr/local/lib",
	"GOROOT=/go",
	"GOPATH=/",
	"GOBIN=/ubin",
	"CGO_ENABLED=0",
	"USER=root",
	"PATH=/go/bin/linux_amd64:/go/bin:/go/pkg/tool/linux_amd64:/ubin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/bin:/usr/local/sbin:/buildbin:/bbin",
}

// InitMain is process 1 of a kharness boot. It never returns: it runs the
// guest until the guest powers the machine off, and powers it off itself
// if the guest ends any other way. In shell mode it becomes u-root's init.
func InitMain() {
	log := os.Stderr
	if err := mount("proc", "/proc", "proc", 0o555); err != nil {
		fmt.Fprintf(log, "kguest: init: %v\n", err)
	}
	if b, err := os.ReadFile("/proc/cmdline"); err == nil && cmdlineMode(string(b)) == ModeShell {
		// u-root's init builds its namespace from scratch.
		unix.Unmount("/proc", 0)
		err := unix.Exec(UrootInit, []string{UrootInit}, os.Environ())
		fmt.Fprintf(log, "kguest: init: exec %s: %v; the shell runs without it\n", UrootInit, err)
		mount("proc", "/proc", "proc", 0o555)
	}
	if err := setup(); err != nil {
		fmt.Fprintf(log, "kguest: init: %v\n", err) // go on: the guest says what is missing
	}
	pid, err := startGuest()
	if err != nil {
		fmt.Fprintf(log, "kguest: init: starting the guest: %v; powering off\n", err)
		linuxMachine{}.PowerOff()
	}
	// Reap every child, orphans included, until the guest is gone: it
	// ends by powering the machine off, so this is a failure.
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || wpid == pid {
			fmt.Fprintf(log, "kguest: init: the guest ended (%s) without powering off; powering off\n", waitText(ws, err))
			linuxMachine{}.PowerOff()
		}
	}
}

// cmdlineMode is the mode the kernel command line asks for (the last
// kharness.mode=), ModeBench when none: ParseCmdline's reading, which
// applies every word before judging any, so a bad value elsewhere on the
// line still leaves the mode (the guest reports the bad value itself).
func cmdlineMode(cmdline string) Mode {
	p, _, _ := ParseCmdline(cmdline, DefaultParams())
	return p.Mode
}

// setup mounts devtmpfs, sysfs and the tmpfs /tmp. (The benchmarks over
// TCP and UDP bring the loopback interface up themselves.)
func setup() error {
	var errs []error
	for _, m := range []struct{ fstype, dir string }{
		{"devtmpfs", "/dev"}, {"sysfs", "/sys"}, {"tmpfs", "/tmp"},
	} {
		errs = append(errs, mount(m.fstype, m.dir, m.fstype, 0o777))
	}
	return errors.Join(errs...)
}

func mount(source, dir, fstype string, mode os.FileMode) error {
	if err := os.MkdirAll(dir, mode); err != nil {
		return err
	}
	if err := unix.Mount(source, dir, fstype, 0, ""); err != nil {
		return fmt.Errorf("mount %s on %s: %w", fstype, dir, err)
	}
	return nil
}

// startGuest starts GuestPath -guest on the console, with u-root's
// environment and asynchronous preemption already off (so it need not
// re-execute itself for it).
func startGuest() (int, error) {
	env := append(os.Environ(), urootEnv...)
	env = append(env, "GODEBUG="+WithAsyncPreemptOff(os.Getenv("GODEBUG")))
	p, err := os.StartProcess(GuestPath, []string{GuestPath, "-guest"}, &os.ProcAttr{
		Dir:   "/",
		Env:   env,
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		Sys:   &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0},
	})
	if err != nil {
		return 0, err
	}
	return p.Pid, nil
}

// AsyncPreemptOff is the GODEBUG setting the guest runs under: a timed
// assembly loop has no safe point, so the runtime's preemption signals
// would only add deliveries to what is measured.
const AsyncPreemptOff = "asyncpreemptoff=1"

// WithAsyncPreemptOff returns the GODEBUG value g with AsyncPreemptOff
// added, unless it is there.
func WithAsyncPreemptOff(g string) string {
	if strings.Contains(g, AsyncPreemptOff) {
		return g
	}
	if g != "" {
		g += ","
	}
	return g + AsyncPreemptOff
}

func waitText(ws unix.WaitStatus, err error) string {
	switch {
	case err != nil:
		return err.Error()
	case ws.Signaled():
		return "killed by " + ws.Signal().String()
	default:
		return fmt.Sprintf("exit status %d", ws.ExitStatus())
	}
}
