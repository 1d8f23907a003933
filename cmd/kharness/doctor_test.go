package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"kharness/internal/testenv"
)

// doctor names what this host offers and, with a QEMU that is not there,
// fails naming the package that installs it.
func TestDoctor(t *testing.T) {
	testenv.Need(t, "apt-get install -y qemu-system-x86", "qemu-system-x86_64")
	var out, errb bytes.Buffer
	if err := run(t.Context(), []string{"doctor", "-cache", t.TempDir()}, &out, &errb); err != nil {
		t.Fatalf("doctor: %v\n%s%s", err, out.String(), errb.String())
	}
	for _, want := range []string{"ok  QEMU", "QEMU emulator version", "TCG plugins", "KVM", "automatic -j", "cache"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor's report lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	err := run(t.Context(), []string{"doctor", "-qemu", "no-such-qemu", "-cache", t.TempDir()}, &out, &errb)
	if err == nil || !strings.Contains(out.String(), "MISSING") || !strings.Contains(out.String(), "apt-get install -y qemu-system-x86") {
		t.Errorf("doctor without QEMU: %v\n%s", err, out.String())
	}
}

// TestDoctorNestedKVM: where /dev/kvm answers (stood in: no machine here
// has one) but QEMU cannot run a guest on it, doctor names the message
// and what to try. The QEMU stand-ins print QEMU 7.2's real text: the MSR
// under -cpu host, and, under -cpu qemu64, the internal error with the
// guest paused (or a firmware that runs).
func TestDoctorNestedKVM(t *testing.T) {
	defer func(f func() error, d time.Duration) { checkKVMDevice, kvmFirmwareTime = f, d }(checkKVMDevice, kvmFirmwareTime)
	checkKVMDevice, kvmFirmwareTime = func() error { return nil }, time.Second
	msr := `qemu-system-x86_64: error: failed to set MSR 0x10a to 0x20000000e6b
qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3235: kvm_buf_set_msrs: Assertion ` + "`ret == cpu->kvm_msr_buf->nmsrs'" + ` failed.`
	fake := func(qemu64 string) string {
		p := filepath.Join(t.TempDir(), "qemu")
		os.WriteFile(p, []byte("#!/bin/sh\ncase \"$*\" in\n*'-cpu host'*) cat >&2 <<'EOF'\n"+msr+"\nEOF\nkill -ABRT $$;;\n*) "+qemu64+";;\nesac\n"), 0o755)
		return p
	}
	report := func(qemu string) string {
		var b bytes.Buffer
		r := &doctorReport{tw: tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)}
		doctorHost(t.Context(), r, qemu, t.TempDir())
		r.tw.Flush()
		return b.String()
	}
	broken := report(fake("printf 'KVM internal error. Suberror: 1\\nextra data[0]: 0x0000000000000000\\nemulation failure\\nEAX=00000000 EBX=00000000\\n' >&2; exec sleep 30"))
	for _, want := range []string{"KVM -cpu host", "failed to set MSR 0x10a", "KVM -cpu qemu64", "KVM internal error. Suberror: 1", "nested virtualisation", "insns = \"on\"", "fall back to TCG"} {
		if !strings.Contains(broken, want) {
			t.Errorf("doctor on a nested KVM that runs no guest lacks %q:\n%s", want, broken)
		}
	}
	t.Logf("doctor on a broken nested KVM:\n%s", broken)
	qemu64 := report(fake("exec sleep 30"))
	if !strings.Contains(qemu64, "failed to set MSR 0x10a") || !strings.Contains(qemu64, `set cpu = "qemu64"`) || strings.Contains(qemu64, "fall back to TCG") {
		t.Errorf("doctor where only -cpu host fails: want the MSR and cpu = \"qemu64\":\n%s", qemu64)
	}
	if out := report(filepath.Join(t.TempDir(), "none")); !strings.Contains(out, "no QEMU") {
		t.Errorf("doctor without QEMU:\n%s", out)
	}
}
