//go:build linux

#include "textflag.h"

// Per-call timing: the time stamp counter read around each call, the
// difference stored as a uint32 at *buf. LFENCE keeps a real CPU from
// reading the counter before the instructions ahead of it are done.

// func getppidTSCLoop(n uint64, buf *uint32)
TEXT ·getppidTSCLoop(SB), NOSPLIT, $0-16
	MOVQ	n+0(FP), R12
	MOVQ	buf+8(FP), R13
	TESTQ	R12, R12
	JEQ	done
loop:
	LFENCE
	RDTSC
	SHLQ	$32, DX
	ORQ	DX, AX
	MOVQ	AX, R14
	MOVQ	$110, AX	// SYS_getppid
	SYSCALL
	LFENCE
	RDTSC
	SHLQ	$32, DX
	ORQ	DX, AX
	SUBQ	R14, AX
	MOVL	AX, (R13)
	ADDQ	$4, R13
	DECQ	R12
	JNZ	loop
done:
	RET

// func emptyTSCLoop(n uint64, buf *uint32): the same with no call, for the
// cost of the timing itself.
TEXT ·emptyTSCLoop(SB), NOSPLIT, $0-16
	MOVQ	n+0(FP), R12
	MOVQ	buf+8(FP), R13
	TESTQ	R12, R12
	JEQ	done
loop:
	LFENCE
	RDTSC
	SHLQ	$32, DX
	ORQ	DX, AX
	MOVQ	AX, R14
	LFENCE
	RDTSC
	SHLQ	$32, DX
	ORQ	DX, AX
	SUBQ	R14, AX
	MOVL	AX, (R13)
	ADDQ	$4, R13
	DECQ	R12
	JNZ	loop
done:
	RET

// func rdtsc() uint64
TEXT ·rdtsc(SB), NOSPLIT, $0-8
	LFENCE
	RDTSC
	SHLQ	$32, DX
	ORQ	DX, AX
	MOVQ	AX, ret+0(FP)
	RET
