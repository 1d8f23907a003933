//go:build linux

#include "textflag.h"

// func getppidLoop(n uint64)
// SYSCALL clobbers RCX and R11 (and RAX holds the result), so the counter
// lives in R12, which the kernel preserves.
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
