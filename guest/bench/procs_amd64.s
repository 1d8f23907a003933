//go:build linux

#include "textflag.h"

// Loops between processes: 1-byte round trips, lat_ctx hops, fork. As in
// loop_amd64.s, only registers SYSCALL preserves hold state.

// func hopLoop(n, wfd, rfd uintptr, buf *byte, ws *uint32, words uintptr) (left uint64)
// One lat_ctx hop n times: sum words 32-bit words of ws (stored in buf[8:]),
// write buf[0] to wfd, read one byte from rfd. With words = 0 it is a
// 1-byte round trip. Returns the iterations left when a read or write did
// not move one byte (0 on success).
TEXT ·hopLoop(SB), NOSPLIT, $0-56
	MOVQ	n+0(FP), R12
	MOVQ	wfd+8(FP), R13
	MOVQ	rfd+16(FP), R8
	MOVQ	buf+24(FP), SI
	MOVQ	ws+32(FP), R9
	MOVQ	words+40(FP), R10
	TESTQ	R12, R12
	JEQ	done
loop:
	TESTQ	R10, R10
	JEQ	io
	XORL	AX, AX
	MOVQ	R9, BX
	MOVQ	R10, CX
sum:
	ADDL	0(BX), AX
	ADDQ	$4, BX
	DECQ	CX
	JNZ	sum
	MOVL	AX, 8(SI)
io:
	MOVQ	$1, AX	// SYS_write
	MOVQ	R13, DI
	MOVQ	$1, DX
	SYSCALL
	CMPQ	AX, $1
	JNE	done
	XORQ	AX, AX	// SYS_read
	MOVQ	R8, DI
	SYSCALL
	CMPQ	AX, $1
	JNE	done
	DECQ	R12
	JNZ	loop
done:
	MOVQ	R12, left+48(FP)
	RET

// func echoLoop(rfd, wfd uintptr, buf *byte, ws *uint32, words uintptr) (ret uintptr)
// The peer side: read one byte from rfd, sum the working set, write the
// byte to wfd, until read returns 0 (EOF) or an error, which it returns.
TEXT ·echoLoop(SB), NOSPLIT, $0-48
	MOVQ	rfd+0(FP), R8
	MOVQ	wfd+8(FP), R13
	MOVQ	buf+16(FP), SI
	MOVQ	ws+24(FP), R9
	MOVQ	words+32(FP), R10
	MOVQ	$1, DX
loop:
	XORQ	AX, AX	// SYS_read
	MOVQ	R8, DI
	SYSCALL
	CMPQ	AX, $1
	JNE	done
	TESTQ	R10, R10
	JEQ	io
	XORL	AX, AX
	MOVQ	R9, BX
	MOVQ	R10, CX
sum:
	ADDL	0(BX), AX
	ADDQ	$4, BX
	DECQ	CX
	JNZ	sum
	MOVL	AX, 8(SI)
io:
	MOVQ	$1, AX	// SYS_write
	MOVQ	R13, DI
	SYSCALL
	CMPQ	AX, $1
	JEQ	loop
done:
	MOVQ	AX, ret+40(FP)
	RET

// func forkLoop(n uintptr, path *byte, argv, envp *uintptr, status *int32) (ret uintptr)
// clone(0) (a fork with no exit signal, so no handler runs in the parent),
// then in the child execve(path, argv, envp) when path is not nil, and
// exit_group(0) (127 after a failed exec); the parent waits with __WALL.
// Returns 0, a negative errno, or the first non-zero wait status.
TEXT ·forkLoop(SB), NOSPLIT, $0-48
	MOVQ	n+0(FP), R12
	MOVQ	path+8(FP), R13
	MOVQ	argv+16(FP), R8
	MOVQ	envp+24(FP), R9
	MOVQ	status+32(FP), BX
	XORQ	AX, AX
	TESTQ	R12, R12
	JEQ	done
loop:
	MOVQ	$56, AX	// SYS_clone
	XORQ	DI, DI
	XORQ	SI, SI
	XORQ	DX, DX
	XORQ	R10, R10
	SYSCALL
	TESTQ	AX, AX
	JEQ	child
	JS	done
	MOVQ	AX, DI
	MOVQ	$61, AX	// SYS_wait4
	MOVQ	BX, SI
	MOVQ	$0x40000000, DX	// __WALL
	XORQ	R10, R10
	SYSCALL
	TESTQ	AX, AX
	JS	done
	MOVL	0(BX), AX
	TESTL	AX, AX
	JNE	done
	DECQ	R12
	JNZ	loop
	XORQ	AX, AX
done:
	MOVQ	AX, ret+40(FP)
	RET
child:
	TESTQ	R13, R13
	JEQ	exit
	MOVQ	$59, AX	// SYS_execve
	MOVQ	R13, DI
	MOVQ	R8, SI
	MOVQ	R9, DX
	SYSCALL
	MOVQ	$127, DI
	MOVQ	$231, AX	// SYS_exit_group
	SYSCALL
exit:
	XORQ	DI, DI
	MOVQ	$231, AX	// SYS_exit_group
	SYSCALL
	INT	$3

// func vdsoLoop(n, fn, clock uintptr, ts *byte)
// Calls the vDSO function fn(clock, ts) n times with the C ABI, on a
// 16-byte aligned stack inside this function's frame.
TEXT ·vdsoLoop(SB), 0, $1024-32
	MOVQ	n+0(FP), R12
	MOVQ	fn+8(FP), BX
	MOVQ	clock+16(FP), AX
	MOVQ	AX, 0(SP)
	MOVQ	ts+24(FP), AX
	MOVQ	AX, 8(SP)
	TESTQ	R12, R12
	JEQ	done
	MOVQ	SP, R13
	LEAQ	960(SP), SP
	ANDQ	$~15, SP
loop:
	MOVQ	0(R13), DI
	MOVQ	8(R13), SI
	CALL	BX
	DECQ	R12
	JNZ	loop
	MOVQ	R13, SP
done:
	RET

// func vsyscallLoop(n uint64, tv *byte)
// gettimeofday(tv, NULL) through the legacy vsyscall page.
TEXT ·vsyscallLoop(SB), NOSPLIT, $16-16
	MOVQ	n+0(FP), R12
	MOVQ	tv+8(FP), R13
	TESTQ	R12, R12
	JEQ	done
loop:
	MOVQ	R13, DI
	XORQ	SI, SI
	MOVQ	$0xffffffffff600000, AX
	CALL	AX
	DECQ	R12
	JNZ	loop
done:
	RET

// func sigReturn()
// The sa_restorer of sigNop: rt_sigreturn.
TEXT ·sigReturn(SB), NOSPLIT, $0-0
	MOVQ	$15, AX	// SYS_rt_sigreturn
	SYSCALL
	INT	$3

// func sigNop()
// An empty signal handler, as a C benchmark would install.
TEXT ·sigNop(SB), NOSPLIT, $0-0
	RET

// func sigAddrs() (handler, restorer uintptr)
// The ABI0 entry points of sigNop and sigReturn, which the kernel calls
// directly (a Go func value would name an ABI wrapper instead).
TEXT ·sigAddrs(SB), NOSPLIT, $0-16
	LEAQ	·sigNop(SB), AX
	MOVQ	AX, handler+0(FP)
	LEAQ	·sigReturn(SB), AX
	MOVQ	AX, restorer+8(FP)
	RET

// func forkEcho(rfd, wfd uintptr, buf *byte, ws *uint32, words uintptr, closefds *int32, nclose uintptr, all *uint64) (ret uintptr)
// Forks a peer as LMbench does (fork, no exec): with every signal blocked
// on this thread, clone(SIGCHLD); the parent restores its mask and returns
// the child's pid (or a negative errno). The child, a one-thread copy of
// this process that never runs Go code, keeps every signal blocked,
// closes the nclose descriptors at closefds, writes its working set once
// (so that its pages are its own, not the parent's shared copy-on-write),
// runs echoLoop and exits 0 on EOF, 1 on an error.
TEXT ·forkEcho(SB), NOSPLIT, $64-72
	MOVQ	$14, AX	// SYS_rt_sigprocmask
	MOVQ	$2, DI	// SIG_SETMASK
	MOVQ	all+56(FP), SI
	LEAQ	56(SP), DX	// the old mask
	MOVQ	$8, R10
	SYSCALL
	MOVQ	$56, AX	// SYS_clone
	MOVQ	$17, DI	// SIGCHLD: the parent waits with wait4
	XORQ	SI, SI	// the child runs on a copy of this stack
	XORQ	DX, DX
	XORQ	R10, R10
	XORQ	R8, R8
	SYSCALL
	TESTQ	AX, AX
	JEQ	child
	MOVQ	AX, ret+64(FP)
	MOVQ	$14, AX	// SYS_rt_sigprocmask
	MOVQ	$2, DI
	LEAQ	56(SP), SI
	XORQ	DX, DX
	MOVQ	$8, R10
	SYSCALL
	RET
child:
	MOVQ	closefds+40(FP), R12
	MOVQ	nclose+48(FP), R13
close:
	TESTQ	R13, R13
	JEQ	touch
	MOVQ	$3, AX	// SYS_close
	MOVLQSX	0(R12), DI
	SYSCALL
	ADDQ	$4, R12
	DECQ	R13
	JMP	close
touch:
	MOVQ	ws+24(FP), BX
	MOVQ	words+32(FP), CX
	XORL	DX, DX
write:
	TESTQ	CX, CX
	JEQ	echo
	MOVL	DX, 0(BX)
	INCL	DX
	ADDQ	$4, BX
	DECQ	CX
	JMP	write
echo:
	MOVQ	rfd+0(FP), AX
	MOVQ	AX, 0(SP)
	MOVQ	wfd+8(FP), AX
	MOVQ	AX, 8(SP)
	MOVQ	buf+16(FP), AX
	MOVQ	AX, 16(SP)
	MOVQ	ws+24(FP), AX
	MOVQ	AX, 24(SP)
	MOVQ	words+32(FP), AX
	MOVQ	AX, 32(SP)
	CALL	·echoLoop(SB)
	MOVQ	40(SP), DI
	TESTQ	DI, DI
	JEQ	exit
	MOVQ	$1, DI
exit:
	MOVQ	$231, AX	// SYS_exit_group
	SYSCALL
	INT	$3
