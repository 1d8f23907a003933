package main

import "testing"

// The instruction __kernel_vsyscall executes is the first of SYSENTER,
// SYSCALL and INT $0x80 in its code: the boot's patch comes before the
// fallback INT $0x80.
func TestScanEntry(t *testing.T) {
	push := []byte{0x51, 0x52, 0x55, 0x89, 0xe5}
	for _, tc := range []struct {
		code []byte
		want string
	}{
		{append(append(push, 0x0f, 0x34), 0xcd, 0x80), "sysenter"},
		{append(append(push, 0x0f, 0x05), 0xcd, 0x80), "syscall"},
		{append(append(push, 0x0f, 0x1f, 0x00), 0xcd, 0x80), "int80"}, // unpatched: a NOP, then the fallback
		{push, "unknown"},
	} {
		if got := scanEntry(tc.code); got != tc.want {
			t.Errorf("scanEntry(% x) = %s, want %s", tc.code, got, tc.want)
		}
	}
}
