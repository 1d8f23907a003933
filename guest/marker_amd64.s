//go:build linux

#include "textflag.h"

// Markers for kharness's instruction-counting TCG plugin: each is an 8-byte
// `nopl 0x6b6800NN(%rax,%rax,1)` (0f 1f 84 00 + disp32), a no-op on any
// x86-64 CPU, which the plugin recognises when QEMU translates it (see
// harness/vm/tcgplugin/insncount.c). NN: 1 opens a benchmark's counted
// samples, 2 starts a counted stretch, 3 ends it, 0x10 to 0x1f send the hex
// digit 0 to f of the tag the plugin writes on the next benchmark's line.

// func markBench()
TEXT ·markBench(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b680001
	RET

// func markStart()
TEXT ·markStart(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b680002
	RET

// func markEnd()
TEXT ·markEnd(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b680003
	RET

// func markDigit0()
TEXT ·markDigit0(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b680010
	RET

// func markDigit1()
TEXT ·markDigit1(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b680011
	RET

// func markDigit2()
TEXT ·markDigit2(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b680012
	RET

// func markDigit3()
TEXT ·markDigit3(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b680013
	RET

// func markDigit4()
TEXT ·markDigit4(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b680014
	RET

// func markDigit5()
TEXT ·markDigit5(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b680015
	RET

// func markDigit6()
TEXT ·markDigit6(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b680016
	RET

// func markDigit7()
TEXT ·markDigit7(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b680017
	RET

// func markDigit8()
TEXT ·markDigit8(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b680018
	RET

// func markDigit9()
TEXT ·markDigit9(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b680019
	RET

// func markDigitA()
TEXT ·markDigitA(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b68001a
	RET

// func markDigitB()
TEXT ·markDigitB(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b68001b
	RET

// func markDigitC()
TEXT ·markDigitC(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b68001c
	RET

// func markDigitD()
TEXT ·markDigitD(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b68001d
	RET

// func markDigitE()
TEXT ·markDigitE(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b68001e
	RET

// func markDigitF()
TEXT ·markDigitF(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b68001f
	RET
