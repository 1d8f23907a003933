//go:build linux

#include "textflag.h"

// The measured loops. SYSCALL clobbers RAX, RCX and R11 and preserves every
// other register, so counters and arguments live in registers the kernel
// keeps (R12, R13, R8, R9, R10, BX, SI, DI, DX). No Go code runs inside a
// loop: what is timed is the instructions a C loop would run.

// func getppidLoop(n uint64)
TEXT ·getppidLoop(SB), NOSPLIT, $0-8
	MOVQ	n+0(FP), R12
	TESTQ	R12, R12
	JEQ	done
loop:
	MOVQ	$110, AX	// SYS_getppid
	SYSCALL
	DECQ	R12
	JNZ	loop
done:
	RET

// func sysLoop(n, nr, a1, a2, a3, a4, a5 uintptr) (ret uintptr)
TEXT ·sysLoop(SB), NOSPLIT, $0-64
	MOVQ	n+0(FP), R12
	MOVQ	nr+8(FP), R13
	MOVQ	a1+16(FP), DI
	MOVQ	a2+24(FP), SI
	MOVQ	a3+32(FP), DX
	MOVQ	a4+40(FP), R10
	MOVQ	a5+48(FP), R8
	XORQ	AX, AX
	TESTQ	R12, R12
	JEQ	done
loop:
	MOVQ	R13, AX
	SYSCALL
	DECQ	R12
	JNZ	loop
done:
	MOVQ	AX, ret+56(FP)
	RET

// func int80Loop(n uint64) (ret uintptr)
// getppid through the 32-bit compat entry: INT $0x80 with EAX = 64, the
// i386 number of getppid.
TEXT ·int80Loop(SB), NOSPLIT, $0-16
	MOVQ	n+0(FP), R12
	XORQ	AX, AX
	TESTQ	R12, R12
	JEQ	done
loop:
	MOVQ	$64, AX
	INT	$0x80
	DECQ	R12
	JNZ	loop
done:
	MOVQ	AX, ret+8(FP)
	RET

// func openCloseLoop(n uint64, path *byte) (ret uintptr)
// openat(AT_FDCWD, path, O_RDONLY) then close; stops at the first error
// and returns it (negative), else 0.
TEXT ·openCloseLoop(SB), NOSPLIT, $0-24
	MOVQ	n+0(FP), R12
	MOVQ	path+8(FP), R13
	XORQ	AX, AX
	TESTQ	R12, R12
	JEQ	done
loop:
	MOVQ	$257, AX	// SYS_openat
	MOVQ	$-100, DI	// AT_FDCWD
	MOVQ	R13, SI
	XORQ	DX, DX	// O_RDONLY
	SYSCALL
	TESTQ	AX, AX
	JS	done
	MOVQ	AX, DI
	MOVQ	$3, AX	// SYS_close
	SYSCALL
	DECQ	R12
	JNZ	loop
done:
	MOVQ	AX, ret+16(FP)
	RET

// func selectLoop(n, nfds uintptr, set, work, tv *uint64) (ret uintptr)
// Like lat_select: copy the 128-bit read set, then select(nfds, work, 0, 0, tv).
TEXT ·selectLoop(SB), NOSPLIT, $0-48
	MOVQ	n+0(FP), R12
	MOVQ	nfds+8(FP), R13
	MOVQ	set+16(FP), BX
	MOVQ	work+24(FP), R9
	MOVQ	tv+32(FP), R8
	XORQ	AX, AX
	TESTQ	R12, R12
	JEQ	done
loop:
	MOVQ	0(BX), AX
	MOVQ	AX, 0(R9)
	MOVQ	8(BX), AX
	MOVQ	AX, 8(R9)
	MOVQ	$23, AX	// SYS_select
	MOVQ	R13, DI
	MOVQ	R9, SI
	XORQ	DX, DX
	XORQ	R10, R10
	SYSCALL
	DECQ	R12
	JNZ	loop
done:
	MOVQ	AX, ret+40(FP)
	RET

// func mmapLoop(n, size, fd uintptr) (ret uintptr)
// mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0) then munmap; returns the
// first error (negative), else 0.
TEXT ·mmapLoop(SB), NOSPLIT, $0-32
	MOVQ	n+0(FP), R12
	MOVQ	size+8(FP), R13
	MOVQ	fd+16(FP), BX
	XORQ	AX, AX
	TESTQ	R12, R12
	JEQ	done
loop:
	MOVQ	$9, AX	// SYS_mmap
	XORQ	DI, DI
	MOVQ	R13, SI
	MOVQ	$1, DX	// PROT_READ
	MOVQ	$1, R10	// MAP_SHARED
	MOVQ	BX, R8
	XORQ	R9, R9
	SYSCALL
	CMPQ	AX, $-4096
	JHI	done
	MOVQ	AX, DI
	MOVQ	$11, AX	// SYS_munmap
	MOVQ	R13, SI
	SYSCALL
	DECQ	R12
	JNZ	loop
	XORQ	AX, AX
done:
	MOVQ	AX, ret+24(FP)
	RET

// func faultLoop(n, base, pages uintptr)
// Touches one page per iteration of a shared file mapping (a minor fault
// from the page cache); after the last page, madvise(MADV_DONTNEED) drops
// every PTE so the next pass faults again.
TEXT ·faultLoop(SB), NOSPLIT, $0-24
	MOVQ	n+0(FP), R12
	MOVQ	base+8(FP), R13
	MOVQ	pages+16(FP), BX
	TESTQ	R12, R12
	JEQ	done
	JMP	reset	// every call starts with no page mapped
loop:
	MOVB	0(R9), AX
	ADDQ	$4096, R9
	DECQ	R12
	JEQ	done
	DECQ	R8
	JNZ	loop
reset:
	MOVQ	$28, AX	// SYS_madvise
	MOVQ	R13, DI
	MOVQ	BX, SI
	SHLQ	$12, SI
	MOVQ	$4, DX	// MADV_DONTNEED
	SYSCALL
	MOVQ	R13, R9	// next page
	MOVQ	BX, R8	// pages left in this pass
	JMP	loop
done:
	RET
