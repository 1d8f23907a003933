//go:build linux

package bench

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"kharness/guest"
	"kharness/results/wire"
)

// The 2002 discussion's path: the null system call from a 32-bit process.
// The image holds a static linux/386 helper (cmd/kguest32) that makes the
// calls on request through INT $0x80, the vDSO's __kernel_vsyscall, or the
// vDSO's sequence with SYSENTER or SYSCALL forced; this program times
// each request as it times its own loops, with the request's fixed cost
// (a pipe round trip to the helper) timed beside every sample and
// subtracted (Instance.OverheadLoop).

// Kguest32Path is where the image holds the 32-bit helper.
const Kguest32Path = "/bin/kguest32"

// entry32Prefix starts the names of the 32-bit entries' benchmarks.
const entry32Prefix = "NullSyscall32/call=getppid/entry="

// Entries32 are the 32-bit entries, in the order they run.
var Entries32 = []string{"int80", "vsyscall", "sysenter", "syscall"}

func entry32Benchmarks() []guest.Benchmark {
	var bs []guest.Benchmark
	for _, e := range Entries32 {
		bs = append(bs, guest.Benchmark{
			Name:  entry32Prefix + e,
			Start: entry32Start(e),
			Skip:  func() string { return entry32Skip(e) },
		})
	}
	return bs
}

// entry32Skip says why a 32-bit entry cannot be timed here: no helper in
// the image, a kernel that runs no 32-bit programs, or a CPU on which the
// instruction faults in a 32-bit process (SYSCALL on Intel, SYSENTER on
// AMD).
func entry32Skip(entry string) string {
	if _, err := os.Stat(Kguest32Path); err != nil {
		return "no 32-bit helper in the image (" + Kguest32Path + ")"
	}
	switch vendor := guest.CPUInfo("vendor_id"); {
	case entry == "syscall" && vendor == "GenuineIntel":
		// Under TCG QEMU does not fault either: it jumps through
		// MSR_CSTAR, which Linux leaves unset on Intel, and the kernel
		// double-faults. So kharness does not try.
		return "SYSCALL from a 32-bit process is #UD on Intel CPUs (" + vendor + "); their fast 32-bit entry is SYSENTER"
	case entry == "sysenter" && (vendor == "AuthenticAMD" || vendor == "HygonGenuine"):
		return "SYSENTER from a 32-bit process under a 64-bit kernel is #UD on AMD CPUs (" + vendor + "); their fast 32-bit entry is SYSCALL"
	}
	err := exec.Command(Kguest32Path, "once", entry).Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, syscall.ENOEXEC) || strings.Contains(err.Error(), "exec format error"):
		return "the kernel runs no 32-bit programs (CONFIG_IA32_EMULATION=n or ia32_emulation=0)"
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Sprintf("%s in a 32-bit process killed it with %v: this CPU does not offer it there", strings.ToUpper(entry), ws.Signal())
		}
		return fmt.Sprintf("getppid through %s in a 32-bit process failed: %v", entry, err)
	}
	return fmt.Sprintf("running %s: %v", Kguest32Path, err)
}

// header is the suite's header line: what __kernel_vsyscall executes
// (wire.Vsyscall32Key), when the run times a 32-bit entry. Only those boots
// start the helper to ask: every other boot would pay an exec for a line
// no one reads.
func header(selected []guest.Benchmark) []guest.ConfigPair {
	for _, b := range selected {
		if strings.HasPrefix(b.Name, entry32Prefix) {
			return []guest.ConfigPair{{Key: wire.Vsyscall32Key, Value: Vsyscall32()}}
		}
	}
	return nil
}

// Vsyscall32 says what __kernel_vsyscall executes in this boot (sysenter,
// syscall or int80), or why that is unknown.
func Vsyscall32() string {
	if _, err := os.Stat(Kguest32Path); err != nil {
		return "none: no 32-bit helper in the image"
	}
	out, err := exec.Command(Kguest32Path, "probe").Output()
	if err != nil {
		return "none: " + entry32Skip("int80")
	}
	return strings.TrimSpace(string(out))
}

// entry32Start starts the helper serving entry and returns an Instance whose
// Loop asks it for n calls.
func entry32Start(entry string) func(time.Duration) (*guest.Instance, error) {
	return func(time.Duration) (*guest.Instance, error) {
		cmd := exec.Command(Kguest32Path, "serve", entry)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("starting %s: %w", Kguest32Path, err)
		}
		r := bufio.NewReader(stdout)
		stop := func() error {
			stdin.Close()
			err := cmd.Wait()
			if err != nil {
				return fmt.Errorf("%s serve %s: %w", Kguest32Path, entry, err)
			}
			return nil
		}
		if line, err := r.ReadString('\n'); err != nil || line != "ready\n" {
			stop()
			return nil, fmt.Errorf("%s serve %s did not start: %q %v", Kguest32Path, entry, line, err)
		}
		var req [8]byte
		var ack [1]byte
		var failed error
		ask := func(n uint64) {
			if failed != nil {
				return
			}
			binary.LittleEndian.PutUint64(req[:], n)
			if _, err := stdin.Write(req[:]); err != nil {
				failed = err
				return
			}
			if _, err := io.ReadFull(r, ack[:]); err != nil {
				failed = err
				return
			}
			if ack[0] != 'k' {
				failed = fmt.Errorf("getppid through %s in the 32-bit helper returned an error", entry)
			}
		}
		return &guest.Instance{
			Loop:         ask,
			CountStretch: func(n uint64) { ask(n | 1<<63) },
			// One request of no calls: the round trip every request pays.
			OverheadLoop: func(uint64) { ask(0) },
			Err:          func() error { return failed },
			Stop:         stop,
		}, nil
	}
}
