package vm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// ErrNoKVM means KVM was asked for and cannot be used here.
var ErrNoKVM = errors.New("kvm not usable")

// KVM ioctls (linux/kvm.h).
const (
	kvmGetAPIVersion = 0xAE00
	kvmCreateVM      = 0xAE01
	kvmAPIVersion    = 12
)

// KVMDevice is the device probed for KVM; a variable so a test can point it
// elsewhere.
var KVMDevice = "/dev/kvm"

// CheckKVMDevice opens the KVM device and asks it for its API version and a
// VM. It says why KVM cannot be used, or nil. A device can pass this and
// still hang a guest (a nested hypervisor that stock kernels do not boot
// on), which only a probe boot finds out.
func CheckKVMDevice() error {
	f, err := os.OpenFile(KVMDevice, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoKVM, err)
	}
	defer f.Close()
	v, err := unix.IoctlRetInt(int(f.Fd()), kvmGetAPIVersion)
	if err != nil {
		return fmt.Errorf("%w: %s: KVM_GET_API_VERSION: %v", ErrNoKVM, KVMDevice, err)
	}
	if v != kvmAPIVersion {
		return fmt.Errorf("%w: %s: KVM API version %d, want %d", ErrNoKVM, KVMDevice, v, kvmAPIVersion)
	}
	vmfd, err := unix.IoctlRetInt(int(f.Fd()), kvmCreateVM)
	if err != nil {
		return fmt.Errorf("%w: %s: KVM_CREATE_VM: %v", ErrNoKVM, KVMDevice, err)
	}
	unix.Close(vmfd)
	return nil
}

// checkKVM is CheckKVMDevice; tests replace it to stand in for a device
// that answers its ioctls but hangs guests, which no machine here has.
var checkKVM = CheckKVMDevice

// ProbeFunc boots a throw-away VM under the given accelerator and returns nil
// once its guest has powered off cleanly within the probe's deadline.
type ProbeFunc func(ctx context.Context, accel string) error

// AccelChoice is the accelerator a run uses and why.
type AccelChoice struct {
	Accel string // "kvm" or "tcg"
	Note  string // why, when it is not what was asked for
	// Plugin is the instruction-counting TCG plugin every boot loads, ""
	// when boots are not counted (see ChooseInsns).
	Plugin string
}

// ProbeTimeout bounds the KVM probe boot. A guest that boots under KVM powers
// off in well under a second; one on a hypervisor that hangs it never does.
var ProbeTimeout = 20 * time.Second

// ChooseAccel resolves "auto", "kvm" or "tcg". Auto uses KVM only when the
// device works and a probe boot finishes in time, and otherwise falls back to
// TCG with a note saying why. Asking for "kvm" where it does not work is an
// error wrapping ErrNoKVM.
func ChooseAccel(ctx context.Context, requested string, probe ProbeFunc) (AccelChoice, error) {
	switch requested {
	case "tcg":
		return AccelChoice{Accel: "tcg"}, nil
	case "kvm", "auto", "":
	default:
		return AccelChoice{}, fmt.Errorf("accelerator %q: want auto, kvm or tcg", requested)
	}
	err := checkKVM()
	if err == nil {
		// The probe boot's own deadline is ProbeTimeout; the context's is
		// later, so a hang is judged a hang, not an interruption.
		pctx, cancel := context.WithTimeout(ctx, ProbeTimeout+10*time.Second)
		err = probe(pctx, "kvm")
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return AccelChoice{}, ctx.Err()
			}
			err = fmt.Errorf("%w: a probe boot under KVM failed: %v", ErrNoKVM, err)
		}
	}
	if err == nil {
		return AccelChoice{Accel: "kvm"}, nil
	}
	if requested == "kvm" {
		return AccelChoice{}, err
	}
	return AccelChoice{Accel: "tcg", Note: fmt.Sprintf("using TCG: %v", err)}, nil
}
