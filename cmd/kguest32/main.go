//go:build linux && 386

// Command kguest32 is the guest's 32-bit helper: a static linux/386
// program in the image (/bin/kguest32) that makes the null system call
// (getppid) from a 32-bit process, through one of the entries a 32-bit
// process has, on request from the 64-bit guest program, which times it
// as it times its own loops. This is the path of the December 2002
// discussion: a 32-bit process entering the kernel by INT $0x80, or by
// __kernel_vsyscall in the vDSO, which the kernel patches at boot to
// SYSENTER (Intel) or SYSCALL (AMD).
//
//	kguest32 probe           print what __kernel_vsyscall executes: sysenter, syscall or int80
//	kguest32 serve ENTRY     ENTRY int80, vsyscall, sysenter or syscall: print "ready", then for
//	                         each 8-byte little-endian count n read from stdin make n calls and
//	                         write one byte back: 'k', or 'e' when a call failed; a count with
//	                         the top bit set makes its calls between the counting plugin's markers
//	kguest32 once ENTRY      make one call and exit 0: a probe that the entry works here
//
// sysenter and syscall are the vDSO's own sequence with that instruction
// forced (push ecx, edx, ebp; mov esp, ebp; the instruction): the kernel
// returns from either fast entry to the vDSO's landing pad, which pops the
// three and returns to the caller, so a bare SYSENTER or SYSCALL outside
// that sequence would not come back.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Loops in entry_386.s: n getppid calls through one entry; the last result.
func int80Loop(n uint32) int32
func vsyscallLoop(n uint32, fn uintptr) int32
func sysenterLoop(n uint32) int32
func syscallLoop(n uint32) int32

// countedFlag marks a request for a counted stretch (see countedStretch).
const countedFlag = 1 << 63

// Markers in marker_386.s: the same 8-byte no-ops as the 64-bit guest's
// (guest/marker_amd64.s), which kharness's counting plugin recognises in
// any user-space code.
func markStart()
func markEnd()

// countedStretch runs loop(n) between a start and an end marker.
//
//go:noinline
func countedStretch(loop func(uint32) int32, n uint32) int32 {
	markStart()
	r := loop(n)
	markEnd()
	return r
}

// atSysinfo is the auxiliary vector's AT_SYSINFO: __kernel_vsyscall's address.
const atSysinfo = 32

func kernelVsyscall() (uintptr, error) {
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return 0, err
	}
	for i := 0; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint32(b[i:]) == atSysinfo {
			return uintptr(binary.LittleEndian.Uint32(b[i+4:])), nil
		}
	}
	return 0, errors.New("no AT_SYSINFO in the auxiliary vector: the kernel maps no 32-bit vDSO")
}

// entryInsn names the first system call instruction in __kernel_vsyscall's
// first 64 bytes, read through /proc/self/mem: the boot patches
// "sysenter" or "syscall" in, before the INT $0x80 every vDSO keeps as its
// fallback.
func entryInsn(fn uintptr) (string, error) {
	f, err := os.Open("/proc/self/mem")
	if err != nil {
		return "", err
	}
	defer f.Close()
	code := make([]byte, 64)
	if _, err := f.ReadAt(code, int64(fn)); err != nil {
		return "", fmt.Errorf("reading __kernel_vsyscall at %#x: %w", fn, err)
	}
	return scanEntry(code), nil
}

func loopFor(entry string) (func(n uint32) int32, error) {
	switch entry {
	case "int80":
		return int80Loop, nil
	case "sysenter":
		return sysenterLoop, nil
	case "syscall":
		return syscallLoop, nil
	case "vsyscall":
		fn, err := kernelVsyscall()
		if err != nil {
			return nil, err
		}
		return func(n uint32) int32 { return vsyscallLoop(n, fn) }, nil
	}
	return nil, fmt.Errorf("unknown entry %q (want int80, vsyscall, sysenter or syscall)", entry)
}

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "kguest32:", err)
		os.Exit(1)
	}
}

func run(args []string, in io.Reader, out io.Writer) error {
	if len(args) == 1 && args[0] == "probe" {
		fn, err := kernelVsyscall()
		if err != nil {
			return err
		}
		insn, err := entryInsn(fn)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, insn)
		return err
	}
	if len(args) != 2 || (args[0] != "serve" && args[0] != "once") {
		return errors.New("usage: kguest32 probe | serve ENTRY | once ENTRY")
	}
	loop, err := loopFor(args[1])
	if err != nil {
		return err
	}
	if args[0] == "once" {
		if r := loop(1); r < 0 {
			return fmt.Errorf("getppid through %s: errno %d", args[1], -r)
		}
		return nil
	}
	w := bufio.NewWriter(out)
	if _, err := w.WriteString("ready\n"); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	var buf [8]byte
	for {
		if _, err := io.ReadFull(in, buf[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		n := binary.LittleEndian.Uint64(buf[:])
		ok := byte('k')
		if n&countedFlag != 0 {
			// A counted stretch for the instruction-counting plugin,
			// between markers in this process, so that nothing of the
			// request's round trip is counted with it.
			if countedStretch(loop, uint32(min(n&^countedFlag, 1<<30))) < 0 {
				ok = 'e'
			}
			n = 0
		}
		for n > 0 {
			chunk := uint32(min(n, 1<<30))
			if loop(chunk) < 0 {
				ok = 'e'
			}
			n -= uint64(chunk)
		}
		if _, err := out.Write([]byte{ok}); err != nil {
			return err
		}
	}
}
