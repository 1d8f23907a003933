package harnesstest

import (
	"os"
	"path/filepath"
	"testing"
)

// MSRStderr and InternalStderr are the stderr of QEMU 7.2 on a nested
// KVM that cannot run guests, as it prints it (target/i386/kvm/kvm.c kvm_buf_set_msrs; accel/kvm/kvm-all.c
// kvm_handle_internal_error and the register dump that follows).
const (
	MSRStderr = `qemu-system-x86_64: error: failed to set MSR 0x10a to 0x20000000e6b
qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3235: kvm_buf_set_msrs: Assertion ` + "`ret == cpu->kvm_msr_buf->nmsrs'" + ` failed.`
	InternalStderr = `KVM internal error. Suberror: 1
extra data[0]: 0x0000000000000000
extra data[1]: 0x0000000000000030
extra data[2]: 0x0000000000000d81
extra data[3]: 0x0000000000000000
emulation failure
EAX=00000000 EBX=00000000 ECX=00000000 EDX=00000663
ESI=00000000 EDI=00000000 EBP=00000000 ESP=00000000
EIP=0000fff0 EFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0
ES =0000 00000000 0000ffff 00009300
CS =f000 ffff0000 0000ffff 00009b00
Code=00 66 89 d8 66 e8 14 a3 ff ff 66 83 c4 0c 66 5b 66 5e 66 c3 <ea> 5b e0 00 f0 30 36 2f 32 33 2f 39 39 00 fc 00 ff ff ff ff ff ff ff ff ff ff ff ff ff ff`
)

// FakeQEMU writes a shell script standing in for QEMU and returns its path.
func FakeQEMU(t testing.TB, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "qemu")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}
