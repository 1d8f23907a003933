package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kharness/kernels"
)

// openPTY returns a pseudo-terminal's master and slave.
func openPTY(t *testing.T) (master, slave *os.File) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	master = os.NewFile(uintptr(fd), "ptmx")
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return master, slave
}

// screen collects what the terminal shows.
type screen struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (s *screen) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.buf.String() }

// waitFor waits until the screen shows want after position from, and returns
// the position after it.
func (s *screen) waitFor(t *testing.T, want string, from int, d time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if str := s.String(); len(str) >= from {
			if i := strings.Index(str[from:], want); i >= 0 {
				return from + i + len(want)
			}
		}
		time.Sleep(50 * time.Millisecond) // the pty has no "changed" event to wait on
	}
	t.Fatalf("terminal never showed %q; it shows:\n%s", want, s.String())
	return 0
}

// TestShellThroughPTY drives `kharness shell` as a person would: a command
// typed at the guest's shell runs in the guest, and `poweroff` ends the
// session with no QEMU left.
func TestShellThroughPTY(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a kernel")
	}
	for _, family := range []string{"6.1", "6.12"} {
		t.Run(family, func(t *testing.T) {
			cand, err := kernels.Resolve(t.Context(), kernels.Source{Family: family})
			if err != nil {
				t.Fatal(err)
			}
			tmp := t.TempDir()
			master, slave := openPTY(t)
			defer master.Close()
			cmd := kharnessCmd(t, tmp, "shell", "-accel", "tcg", "-cache", cacheDir(t), family)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			slave.Close()
			scr := &screen{}
			go func() {
				b := make([]byte, 4096)
				for {
					n, err := master.Read(b)
					scr.mu.Lock()
					scr.buf.Write(b[:n])
					scr.mu.Unlock()
					if err != nil {
						return
					}
				}
			}()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			// The first wait holds the kernel's download, the shell image's
			// build (u-root's busybox, compiled) and the boot: 10 minutes.
			pos := scr.waitFor(t, "kguest: shell on the console", 0, 10*time.Minute)
			// Type only once gosh's line editor has drawn its prompt.
			// Each step gets the boot's 3 minutes: in CI this test shares
			// two cores with a kernel build, and once took over 60 s to
			// run uname (17 s for the whole test on an idle machine).
			pos = scr.waitFor(t, "hide/show prompt", pos, 3*time.Minute)
			master.Write([]byte("uname -r;kguest -count 1 -run getppid$\r"))
			pos = scr.waitFor(t, cand.Release, pos, 3*time.Minute)
			pos = scr.waitFor(t, "BenchmarkNullSyscall/call=getppid ", pos, 3*time.Minute)
			// Type once kguest has ended and the line editor is back: a
			// line typed while kguest still runs is read in the tty's
			// cooked mode, its Enter turned into a newline the editor
			// does not take as Enter (seen under CI's load).
			pos = scr.waitFor(t, "# kharness-end", pos, 3*time.Minute)
			scr.waitFor(t, "M-? toggle key help", pos, 3*time.Minute)
			master.Write([]byte("poweroff\r"))
			// In CI, beside four other VMs on two cores, the first
			// poweroff was once echoed and taken by the line editor and
			// the VM still ran three minutes later; a second one, a minute
			// on, is what a user would type. It is logged, so a run that
			// needed it says so.
			retry := time.After(time.Minute)
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("kharness shell: %v\n%s", err, scr.String())
				}
			case <-retry:
				t.Logf("the VM still runs a minute after poweroff: typing it again")
				master.Write([]byte("poweroff\r"))
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("kharness shell: %v\n%s", err, scr.String())
					}
				case <-time.After(2 * time.Minute): // like every step: CI shares the cores
					// Seen once in a cold CI run, a kernel build beside it:
					// the guest took poweroff (the shell stopped echoing) and
					// never reached power-down. Ctrl-] is the user's way out,
					// and kharness must still end with no QEMU left.
					t.Logf("the guest did not power off in 3 minutes after poweroff typed twice: Ctrl-]\n%s", scr.String())
					master.Write([]byte{0x1d})
					select {
					case <-done:
					case <-time.After(time.Minute):
						cmd.Process.Kill()
						t.Fatalf("kharness shell did not end on Ctrl-] either:\n%s", scr.String())
					}
				}
			}
			if n := qemuUnder(tmp); n > 0 {
				t.Errorf("%d QEMU processes outlived kharness shell", n)
			}
		})
	}
}
