//go:build linux

#include "textflag.h"

// Markers for kharness's instruction-counting TCG plugin: each is an 8-byte
// `nopl 0x6b6800NN(%rax,%rax,1)` (0f 1f 84 00 + disp32), a no-op on any
// x86-64 CPU, which the plugin recognises when QEMU translates it (see
// harness/tcgplugin/insncount.c). NN: 1 opens a benchmark's counted
// samples, 2 starts a counted stretch, 3 ends it.

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
