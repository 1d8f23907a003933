//go:build linux && 386

#include "textflag.h"

// The counting plugin's markers (harness/vm/tcgplugin/insncount.c): nopl
// 0x6b6800NN(%eax,%eax,1), NN 2 start and 3 end of a counted stretch.

TEXT ·markStart(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b680002
	RET

TEXT ·markEnd(SB), NOSPLIT, $0-0
	BYTE	$0x0f; BYTE $0x1f; BYTE $0x84; BYTE $0x00
	LONG	$0x6b680003
	RET
