package vm

import (
	"kharness/harness/internal/harnesstest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExplainKVM: each of the two messages is recognised in QEMU's real
// stderr, with what to try; an ordinary failure is not explained.
func TestExplainKVM(t *testing.T) {
	for _, tc := range []struct {
		text, sign, try string
	}{
		{harnesstest.MSRStderr, "failed to set MSR 0x10a", "host,-arch-capabilities"},
		{"hang: no power-off within 20s; QEMU stopped\n" + harnesstest.InternalStderr, "KVM internal error. Suberror: 1", "insns = \"on\""},
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

// TestFirmwareUnderKVM: the firmware run reports a QEMU that stopped by
// itself with its output, and stops one still running at the deadline.
func TestFirmwareUnderKVM(t *testing.T) {
	out, exited, err := FirmwareUnderKVM(t.Context(), harnesstest.FakeQEMU(t, "echo \"$@\" >&2; echo '"+strings.Split(harnesstest.MSRStderr, "\n")[0]+"' >&2; exit 1"), "host", 10*time.Second)
	if err != nil || !exited || ExplainKVM(out) == nil || !strings.Contains(out, "-accel kvm -cpu host") {
		t.Errorf("QEMU stopping on the MSR: out %q exited %v err %v", out, exited, err)
	}
	start := time.Now()
	out, exited, err = FirmwareUnderKVM(t.Context(), harnesstest.FakeQEMU(t, "echo 'KVM internal error. Suberror: 1' >&2; exec sleep 60"), "qemu64", time.Second)
	if err != nil || exited || ExplainKVM(out) == nil || time.Since(start) > 20*time.Second {
		t.Errorf("QEMU pausing its guest: out %q exited %v err %v after %v", out, exited, err, time.Since(start))
	}
	if _, _, err := FirmwareUnderKVM(t.Context(), filepath.Join(t.TempDir(), "none"), "host", time.Second); err == nil {
		t.Error("no QEMU: no error")
	}
}
