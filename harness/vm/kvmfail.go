package vm

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// KVMFailure is a known way a /dev/kvm that answers its ioctls still
// cannot run a guest: what QEMU prints, what it means and what to try.
type KVMFailure struct {
	Sign string // the text QEMU prints on stderr
	Why  string
	Try  string
}

// KVMTryElsewhere is what to try where a nested KVM cannot run guests.
const KVMTryElsewhere = "run where KVM works (bare metal, or a VM whose host enables nested virtualisation), " +
	"or use TCG: accel = \"tcg\" (what accel = \"auto\" falls back to) with insns = \"on\", whose instruction counts are exact and host load cannot change them"

// KVMFailures are the failures of a nested KVM that QEMU reports: the
// first stops QEMU under -cpu host before the guest runs (QEMU 7.2:
// "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x...", then an
// assertion in kvm_buf_set_msrs); the second stops the guest once it runs,
// with that MSR off or -cpu qemu64 ("KVM internal error. Suberror: 1",
// then "emulation failure" and a register dump; QEMU pauses the guest and
// a boot waits out its deadline).
var KVMFailures = []KVMFailure{
	{Sign: "failed to set MSR 0x10a",
		Why: "QEMU could not set MSR 0x10a (IA32_ARCH_CAPABILITIES) of a -cpu host vCPU: this KVM is nested in a hypervisor that refuses it",
		Try: "cpu = \"host,-arch-capabilities\" or cpu = \"qemu64\" gets past it; where nested KVM is broken the guest then stops with \"KVM internal error. Suberror: 1\"; " + KVMTryElsewhere},
	{Sign: "KVM internal error. Suberror: 1",
		Why: "KVM could not emulate an instruction of the guest (suberror 1, emulation failure): this nested KVM cannot run the guest, whatever its -cpu",
		Try: KVMTryElsewhere},
}

// ExplainKVM returns the known nested-KVM failure whose sign text holds
// (QEMU's stderr, a boot's reason), or nil.
func ExplainKVM(text string) *KVMFailure {
	for i, f := range KVMFailures {
		if strings.Contains(text, f.Sign) {
			return &KVMFailures[i]
		}
	}
	return nil
}

// String is the failure in one line: what QEMU said, what it means, what
// to try.
func (f *KVMFailure) String() string { return f.Said() + "; try: " + f.Try }

// Said is what QEMU said and what it means.
func (f *KVMFailure) Said() string { return "QEMU said \"" + f.Sign + "\": " + f.Why }

// FirmwareUnderKVM runs QEMU under KVM with vCPU model cpu and no kernel
// for d: the firmware starts, finds nothing to boot and waits, which is
// enough for either KVMFailure to show. It returns QEMU's output and
// whether QEMU ended by itself before d (a failure); one still running at
// d is stopped. err is only for a QEMU that could not be started.
func FirmwareUnderKVM(ctx context.Context, qemu, cpu string, d time.Duration) (out string, exited bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, "-nodefaults", "-no-user-config", "-display", "none", "-machine", "pc",
		"-accel", "kvm", "-cpu", cpu, "-m", "64", "-no-reboot", "-serial", "none", "-monitor", "none")
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return b.String(), false, nil
	case err == nil || errors.As(err, &exit):
		return b.String(), true, nil
	}
	return b.String(), false, err
}
