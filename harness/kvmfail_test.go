package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kharness/kernels"
)

// The stderr of QEMU 7.2 on a nested KVM that cannot run guests, as it
// prints it (target/i386/kvm/kvm.c kvm_buf_set_msrs; accel/kvm/kvm-all.c
// kvm_handle_internal_error and the register dump that follows).
const (
	msrStderr = `qemu-system-x86_64: error: failed to set MSR 0x10a to 0x20000000e6b
qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3235: kvm_buf_set_msrs: Assertion ` + "`ret == cpu->kvm_msr_buf->nmsrs'" + ` failed.`
	internalStderr = `KVM internal error. Suberror: 1
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

// TestExplainKVM: each of the two messages is recognised in QEMU's real
// stderr, with what to try; an ordinary failure is not explained.
func TestExplainKVM(t *testing.T) {
	for _, tc := range []struct {
		text, sign, try string
	}{
		{msrStderr, "failed to set MSR 0x10a", "host,-arch-capabilities"},
		{"hang: no power-off within 20s; QEMU stopped\n" + internalStderr, "KVM internal error. Suberror: 1", "insns = \"on\""},
	} {
		f := ExplainKVM(tc.text)
		if f == nil || f.Sign != tc.sign {
			t.Errorf("ExplainKVM(%.40q...) = %v, want the failure %q", tc.text, f, tc.sign)
			continue
		}
		if s := f.String(); !strings.Contains(s, tc.try) || !strings.Contains(s, "nested") || !strings.Contains(s, "TCG") {
			t.Errorf("explanation %q: want it to say nested KVM, %q and TCG", s, tc.try)
		}
	}
	for _, text := range []string{"", "hang: no power-off within 20s; QEMU stopped", "qemu-system-x86_64: failed to initialize kvm: Permission denied", "KVM internal error. Suberror: 3"} {
		if f := ExplainKVM(text); f != nil {
			t.Errorf("ExplainKVM(%q) = %v, want nil", text, f)
		}
	}
}

// fakeQEMU writes a shell script standing in for QEMU and returns its path.
func fakeQEMU(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "qemu")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestProbeExplainsMSR: a probe boot under KVM whose QEMU stops on the MSR
// (a stand-in printing QEMU's real text, as no machine here has such a
// KVM) fails with the explanation; under TCG it is not offered.
func TestProbeExplainsMSR(t *testing.T) {
	qemu := fakeQEMU(t, "cat >&2 <<'EOF'\n"+msrStderr+"\nEOF\nkill -ABRT $$")
	opt := RunOptions{Config: &Config{MemoryMB: 512, Bench: BenchConfig{Run: ".", Benchtime: "10ms", Count: 1}}, QEMU: qemu}
	k := &kernels.Kernel{Path: "/nonexistent/bzImage"}
	err := probeBoot(t.Context(), opt, k, "/nonexistent/image.cpio", "kvm")
	t.Logf("probe: %v", err)
	if err == nil || !strings.Contains(err.Error(), "IA32_ARCH_CAPABILITIES") || !strings.Contains(err.Error(), "try:") {
		t.Errorf("probe under KVM: %v, want the MSR explained", err)
	}
	if err := probeBoot(t.Context(), opt, k, "/nonexistent/image.cpio", "tcg"); err == nil || strings.Contains(err.Error(), "try:") {
		t.Errorf("probe under TCG: %v, want a failure without KVM's explanation", err)
	}
}

// TestProbeExplainsInternalError: the guest of a nested KVM stopped with
// "KVM internal error" (QEMU stays up with the guest paused) times the
// probe out, and the probe's error names the message from QEMU's stderr,
// which a hang's reason does not carry. The stand-in prints QEMU's real
// text and runs the real QEMU under TCG with the guest held (-S).
func TestProbeExplainsInternalError(t *testing.T) {
	k, img := bootFixture(t)
	defer func(d time.Duration) { ProbeTimeout = d }(ProbeTimeout)
	ProbeTimeout = 5 * time.Second
	qemu := fakeQEMU(t, `for a; do shift; case "$a" in kvm) a=tcg;; host) a=qemu64;; esac; set -- "$@" "$a"; done
cat >&2 <<'EOF'
`+internalStderr+`
EOF
exec `+DefaultQEMU+` -S "$@"`)
	opt := RunOptions{Config: &Config{MemoryMB: 512, Bench: BenchConfig{Run: ".", Benchtime: "10ms", Count: 1}}, QEMU: qemu}
	err := probeBoot(t.Context(), opt, k, img, "kvm")
	t.Logf("probe: %v", err)
	if err == nil || !strings.HasPrefix(err.Error(), "hang") || !strings.Contains(err.Error(), "KVM internal error. Suberror: 1") || !strings.Contains(err.Error(), "whatever its -cpu") {
		t.Errorf("probe of a paused guest: %v, want a hang with the internal error explained", err)
	}
}

// TestFirmwareUnderKVM: the firmware run reports a QEMU that stopped by
// itself with its output, and stops one still running at the deadline.
func TestFirmwareUnderKVM(t *testing.T) {
	out, exited, err := FirmwareUnderKVM(t.Context(), fakeQEMU(t, "echo \"$@\" >&2; echo '"+strings.Split(msrStderr, "\n")[0]+"' >&2; exit 1"), "host", 10*time.Second)
	if err != nil || !exited || ExplainKVM(out) == nil || !strings.Contains(out, "-accel kvm -cpu host") {
		t.Errorf("QEMU stopping on the MSR: out %q exited %v err %v", out, exited, err)
	}
	start := time.Now()
	out, exited, err = FirmwareUnderKVM(t.Context(), fakeQEMU(t, "echo 'KVM internal error. Suberror: 1' >&2; exec sleep 60"), "qemu64", time.Second)
	if err != nil || exited || ExplainKVM(out) == nil || time.Since(start) > 20*time.Second {
		t.Errorf("QEMU pausing its guest: out %q exited %v err %v after %v", out, exited, err, time.Since(start))
	}
	if _, _, err := FirmwareUnderKVM(t.Context(), filepath.Join(t.TempDir(), "none"), "host", time.Second); err == nil {
		t.Error("no QEMU: no error")
	}
}
