package vm

import (
	"context"
	"errors"
	"kharness/harness/internal/harnesstest"
	"kharness/results/store"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestChooseAccelHangingKVM stands in for the nested hypervisor whose
// /dev/kvm answers every ioctl but never runs a stock kernel to the end:
// the device check passes (simulated: no machine here has such a device),
// and the probe boot really hangs (a guest told to hang, under TCG), so auto
// must give up at the probe's deadline and fall back to TCG.
func TestChooseAccelHangingKVM(t *testing.T) {
	k, img := harnesstest.Fixture(t)
	defer func(f func() error, d time.Duration) { checkKVM, ProbeTimeout = f, d }(checkKVM, ProbeTimeout)
	checkKVM = func() error { return nil }
	ProbeTimeout = 6 * time.Second
	var status store.Status
	probe := func(ctx context.Context, accel string) error {
		dir := t.TempDir()
		vm := VMOptions{Kernel: k.Path, Initrd: img, Accel: "tcg", Cmdline: baseCmdline + " kharness.mode=hang"}
		v, err := Boot(ctx, BootSpec{VM: vm, Deadline: ProbeTimeout}, filepath.Join(dir, "c"), filepath.Join(dir, "r"))
		if err != nil {
			return err
		}
		status = v.Status
		if v.Status != store.StatusOK {
			return errors.New(v.Reason)
		}
		return nil
	}
	start := time.Now()
	got, err := ChooseAccel(t.Context(), "auto", probe)
	if err != nil {
		t.Fatal(err)
	}
	if got.Accel != "tcg" || !strings.Contains(got.Note, "probe boot") || status != store.StatusHang {
		t.Errorf("auto with a hanging KVM = %+v (probe %s), want tcg after a hang", got, status)
	}
	if el := time.Since(start); el > ProbeTimeout+60*time.Second {
		t.Errorf("fallback took %v; probe deadline %v", el, ProbeTimeout)
	}
	if _, err := ChooseAccel(t.Context(), "kvm", probe); !errors.Is(err, ErrNoKVM) {
		t.Errorf("kvm with a hanging device: err = %v, want ErrNoKVM", err)
	}
	if _, err := os.Stat(KVMDevice); err == nil {
		t.Logf("%s exists here", KVMDevice)
	}
}
