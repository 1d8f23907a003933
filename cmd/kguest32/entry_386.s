//go:build linux && 386

#include "textflag.h"

// getppid is system call 64 on i386. The loops keep their count in SI,
// which every entry preserves; INT $0x80 and the vDSO preserve every
// register but EAX.

// func int80Loop(n uint32) int32
TEXT ·int80Loop(SB), NOSPLIT, $0-8
	MOVL	n+0(FP), SI
	XORL	AX, AX
	TESTL	SI, SI
	JEQ	done
loop:
	MOVL	$64, AX
	INT	$0x80
	DECL	SI
	JNZ	loop
done:
	MOVL	AX, ret+4(FP)
	RET

// func vsyscallLoop(n uint32, fn uintptr) int32
TEXT ·vsyscallLoop(SB), NOSPLIT, $0-12
	MOVL	n+0(FP), SI
	MOVL	fn+4(FP), DI
	XORL	AX, AX
	TESTL	SI, SI
	JEQ	done
loop:
	MOVL	$64, AX
	CALL	DI
	DECL	SI
	JNZ	loop
done:
	MOVL	AX, ret+8(FP)
	RET

// fastSysenter and fastSyscall are __kernel_vsyscall with one instruction:
// the kernel's fast 32-bit entries return to the vDSO's landing pad, which
// pops EBP, EDX and ECX, pushed here, and returns to the caller.
TEXT fastSysenter<>(SB), NOSPLIT, $0-0
	PUSHL	CX
	PUSHL	DX
	PUSHL	BP
	MOVL	SP, BP
	BYTE	$0x0f; BYTE $0x34	// SYSENTER
	INT	$3			// not reached

TEXT fastSyscall<>(SB), NOSPLIT, $0-0
	PUSHL	CX
	PUSHL	DX
	PUSHL	BP
	MOVL	SP, BP
	BYTE	$0x0f; BYTE $0x05	// SYSCALL
	INT	$3			// not reached

// func sysenterLoop(n uint32) int32
TEXT ·sysenterLoop(SB), NOSPLIT, $0-8
	MOVL	n+0(FP), SI
	XORL	AX, AX
	TESTL	SI, SI
	JEQ	done
loop:
	MOVL	$64, AX
	CALL	fastSysenter<>(SB)
	DECL	SI
	JNZ	loop
done:
	MOVL	AX, ret+4(FP)
	RET

// func syscallLoop(n uint32) int32
TEXT ·syscallLoop(SB), NOSPLIT, $0-8
	MOVL	n+0(FP), SI
	XORL	AX, AX
	TESTL	SI, SI
	JEQ	done
loop:
	MOVL	$64, AX
	CALL	fastSyscall<>(SB)
	DECL	SI
	JNZ	loop
done:
	MOVL	AX, ret+4(FP)
	RET
