// The run's probe boot (probeBoot) under vm.ChooseAccel, and its errors
// where a nested KVM stops the guest.
package harness

import (
	"context"
	"errors"
	"kharness/harness/internal/harnesstest"
	"kharness/harness/vm"
	"kharness/kernels"
	"strings"
	"testing"
	"time"
)

// TestProbeExplainsMSR: a probe boot under KVM whose QEMU stops on the MSR
// (a stand-in printing QEMU's real text, as no machine here has such a
// KVM) fails with the explanation; under TCG it is not offered.
func TestProbeExplainsMSR(t *testing.T) {
	qemu := harnesstest.FakeQEMU(t, "cat >&2 <<'EOF'\n"+harnesstest.MSRStderr+"\nEOF\nkill -ABRT $$")
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
	k, img := harnesstest.Fixture(t)
	defer func(d time.Duration) { vm.ProbeTimeout = d }(vm.ProbeTimeout)
	vm.ProbeTimeout = 5 * time.Second
	qemu := harnesstest.FakeQEMU(t, `for a; do shift; case "$a" in kvm) a=tcg;; host) a=qemu64;; esac; set -- "$@" "$a"; done
cat >&2 <<'EOF'
`+harnesstest.InternalStderr+`
EOF
exec `+vm.DefaultQEMU+` -S "$@"`)
	opt := RunOptions{Config: &Config{MemoryMB: 512, Bench: BenchConfig{Run: ".", Benchtime: "10ms", Count: 1}}, QEMU: qemu}
	err := probeBoot(t.Context(), opt, k, img, "kvm")
	t.Logf("probe: %v", err)
	if err == nil || !strings.HasPrefix(err.Error(), "hang") || !strings.Contains(err.Error(), "KVM internal error. Suberror: 1") || !strings.Contains(err.Error(), "whatever its -cpu") {
		t.Errorf("probe of a paused guest: %v, want a hang with the internal error explained", err)
	}
}

// TestChooseAccelHere is the real probe on this machine: wherever KVM cannot
// run a guest, auto falls back to TCG saying why, and kvm is an error.
func TestChooseAccelHere(t *testing.T) {
	k, img := harnesstest.Fixture(t)
	probe := func(ctx context.Context, accel string) error {
		return probeBoot(ctx, RunOptions{Config: &Config{MemoryMB: 512, Bench: BenchConfig{Run: ".", Benchtime: "10ms", Count: 1}}}, k, img, accel)
	}
	kvmErr := vm.CheckKVMDevice()
	got, err := vm.ChooseAccel(t.Context(), "auto", probe)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("device check: %v; auto chose %s (%s)", kvmErr, got.Accel, got.Note)
	if kvmErr != nil {
		if got.Accel != "tcg" || !strings.Contains(got.Note, "using TCG") || !strings.Contains(got.Note, vm.KVMDevice) {
			t.Errorf("auto without a usable %s = %+v, want tcg with a note naming the device", vm.KVMDevice, got)
		}
		if _, err := vm.ChooseAccel(t.Context(), "kvm", probe); !errors.Is(err, vm.ErrNoKVM) {
			t.Errorf("kvm without a usable device: err = %v, want ErrNoKVM", err)
		}
	}
	if got, _ := vm.ChooseAccel(t.Context(), "tcg", probe); got.Accel != "tcg" || got.Note != "" {
		t.Errorf("tcg = %+v", got)
	}
	if _, err := vm.ChooseAccel(t.Context(), "xen", probe); err == nil {
		t.Error("accel xen accepted")
	}
}
