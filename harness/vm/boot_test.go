package vm

import (
	"context"
	"fmt"
	"kharness/guest"
	"kharness/harness/internal/harnesstest"
	"kharness/results/store"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBootOK(t *testing.T) {
	k, _ := harnesstest.Fixture(t)
	v := testBoot(t, "", 300*time.Second)
	if v.Status != store.StatusOK {
		t.Fatalf("status %s: %s\nconsole:\n%s", v.Status, v.Reason, strings.Join(v.ConsoleTail, "\n"))
	}
	// -machine pc resolves to a versioned i440FX board, read back over QMP.
	if v.Accel != "tcg" || v.QEMUVersion == "" || !strings.HasPrefix(v.Machine, "pc-i440fx-") {
		t.Errorf("accel %q qemu %q machine %q", v.Accel, v.QEMUVersion, v.Machine)
	}
	cfg := map[string]string{}
	for _, kv := range v.Stream.Config {
		cfg[kv.Key] = kv.Value
	}
	if cfg["kernel-release"] != k.Release {
		t.Errorf("guest says kernel-release %q, bzImage header says %q", cfg["kernel-release"], k.Release)
	}
	if !strings.Contains(cfg["kernel-cmdline"], "kharness.count=3") {
		t.Errorf("kernel-cmdline %q", cfg["kernel-cmdline"])
	}
	var n int
	for _, r := range v.Stream.Results {
		if strings.HasPrefix(r.Name, "NullSyscall") {
			n++
			if ns := r.Values[0].Value; r.Values[0].Unit != "ns/op" || ns < 10 || ns > 1e6 {
				t.Errorf("implausible null syscall: %+v", r)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d NullSyscall samples, want 3 (count=3)", n)
	}
}

// qemuUnder counts running QEMU processes whose sockets are under dir.
func qemuUnder(dir string) int {
	out, _ := exec.Command("pgrep", "-f", "qemu-system.*"+dir).Output()
	return len(strings.Fields(string(out)))
}

func TestBootHangKilledAtDeadline(t *testing.T) {
	harnesstest.Fixture(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // the VM's sockets, and so its argv, live here
	start := time.Now()
	v := testBoot(t, "kharness.mode=hang", 20*time.Second)
	if v.Status != store.StatusHang {
		t.Fatalf("status %s (%s), want hang", v.Status, v.Reason)
	}
	if !strings.Contains(QuoteArgv(v.Argv), tmp) {
		t.Fatalf("VM sockets not under TMPDIR: %q", v.Argv)
	}
	if el := time.Since(start); el > 120*time.Second {
		t.Errorf("hang took %v to stop, deadline 20s", el)
	}
	if len(v.ConsoleTail) == 0 {
		t.Error("no console tail in a hang report")
	}
	if n := qemuUnder(tmp); n != 0 {
		t.Errorf("%d QEMU processes left after the deadline", n)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("socket dir left behind: %v", ents)
	}
}

func TestBootPanic(t *testing.T) {
	v := testBoot(t, "rdinit=/does-not-exist root=/dev/nonexistent", 300*time.Second)
	if v.Status != store.StatusPanic {
		t.Fatalf("status %s (%s), want panic", v.Status, v.Reason)
	}
	if !strings.Contains(v.PanicLines[0], "Kernel panic") {
		t.Errorf("panic lines %q", v.PanicLines)
	}
}

func TestBootQEMUFails(t *testing.T) {
	k, img := harnesstest.Fixture(t)
	dir := t.TempDir()
	bad := dir + "/not-a-kernel"
	os.WriteFile(bad, []byte("hello"), 0o644)
	for name, tc := range map[string]struct {
		vm   VMOptions
		want string // what QEMU or the OS said
	}{
		"bad kernel": {VMOptions{Kernel: bad, Initrd: img, Accel: "tcg"}, "qemu: "},
		"bad memory": {VMOptions{Kernel: k.Path, Initrd: img, Accel: "tcg", MemoryMB: 1 << 30}, "cannot set up guest memory"},
		"bad accel":  {VMOptions{Kernel: k.Path, Initrd: img, Accel: "nosuch"}, "invalid accelerator nosuch"},
		"no binary":  {VMOptions{QEMU: dir + "/no-qemu", Kernel: k.Path, Initrd: img, Accel: "tcg"}, "no such file"},
	} {
		vm := tc.vm
		t.Run(name, func(t *testing.T) {
			v, err := Boot(t.Context(), BootSpec{VM: vm, Deadline: 30 * time.Second}, dir+"/c", dir+"/r")
			if err != nil {
				t.Fatal(err)
			}
			if v.Status != store.StatusQEMUFailed || !strings.Contains(v.Reason, tc.want) {
				t.Fatalf("status %s (%s), want qemu-failed with a reason mentioning %q", v.Status, v.Reason, tc.want)
			}
			// The cause first, in one line: what QEMU said, not the QMP
			// connection it broke on its way out.
			if cause, _ := strings.CutPrefix(v.Reason, "qemu failed to start: "); !strings.Contains(v.Reason, "\n") && strings.Contains(strings.SplitN(cause, " (", 2)[0], tc.want) {
				t.Log(v.Reason)
			} else {
				t.Errorf("reason %q: want \"qemu failed to start: \" then QEMU's message, in one line", v.Reason)
			}
		})
	}
}

// TestBootGuestFaults boots guests that misbehave on purpose: each fault
// gets its own status, a reason and no number.
func TestBootGuestFaults(t *testing.T) {
	k, img := harnesstest.Fixture(t)
	for _, tc := range []struct {
		mode   string
		status store.Status
		want   string
	}{
		{"truncate", store.StatusTruncated, "end"},
		{"miscount", store.StatusMiscount, "count"},
		{"garble", store.StatusGarbled, "after the end marker"},
		{"flood", store.StatusFlood, "limit"},
		{"crash", store.StatusPanic, "sysrq triggered crash"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			dir := t.TempDir()
			p := guest.Params{Run: "NullSyscall/call=getppid$", Benchtime: 20 * time.Millisecond, Count: 2, Mode: guest.Mode(tc.mode)}
			vm := VMOptions{Kernel: k.Path, Initrd: img, Accel: "tcg", Cmdline: guestCmdline("", p)}
			spec := BootSpec{VM: vm, Deadline: 300 * time.Second, ConsoleLimit: 64 << 10}
			v, err := Boot(t.Context(), spec, dir+"/console.log", dir+"/results.raw")
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s in %v: %s", v.Status, v.Wall.Round(time.Millisecond), v.Reason)
			if v.Status != tc.status || v.Stream != nil || !strings.Contains(strings.ToLower(v.Reason), tc.want) {
				t.Errorf("status %s, reason %q, stream %v: want %s mentioning %q and no stream", v.Status, v.Reason, v.Stream != nil, tc.status, tc.want)
			}
			if len(v.ConsoleTail) == 0 {
				t.Error("no console tail")
			}
		})
	}
}

// TestBootQEMUKilled: QEMU killed with SIGKILL, while it starts or while
// the guest runs: the boot's reason says so first, in one line, without
// the QMP error it caused or a dangling ": " where QEMU printed nothing.
func TestBootQEMUKilled(t *testing.T) {
	k, img := harnesstest.Fixture(t)
	real, err := exec.LookPath(DefaultQEMU)
	if err != nil {
		t.Fatal(err)
	}
	for name, after := range map[string]string{"at start": "0.05", "mid-boot": "1.5"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			// A QEMU that a kill -9 ends after a delay (the shell's pid
			// is QEMU's once it execs).
			wrap := dir + "/qemu"
			os.WriteFile(wrap, []byte("#!/bin/sh\n(sleep "+after+"; kill -9 $$) >/dev/null 2>&1 &\nexec "+real+" \"$@\"\n"), 0o755)
			p := guest.Params{Run: ".", Benchtime: 100 * time.Millisecond, Count: 20}
			vm := VMOptions{QEMU: wrap, Kernel: k.Path, Initrd: img, Accel: "tcg", Cmdline: guestCmdline("", p)}
			v, err := Boot(t.Context(), BootSpec{VM: vm, Deadline: 60 * time.Second}, dir+"/c", dir+"/r")
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s", v.Status, v.Reason)
			r := v.Reason
			if v.Status == store.StatusOK || strings.Contains(r, "\n") || strings.HasSuffix(strings.TrimSpace(r), ":") ||
				strings.Contains(r, "QMP") || !strings.Contains(r, "killed") {
				t.Errorf("status %s, reason %q: want the kill named, in one line, without QMP's error or a dangling colon", v.Status, r)
			}
		})
	}
}

// testBoot boots the fixture kernel once with extra kernel arguments.
func testBoot(t *testing.T, extra string, deadline time.Duration) *Verdict {
	t.Helper()
	k, img := harnesstest.Fixture(t)
	dir := t.TempDir()
	p := guest.Params{Run: "NullSyscall/call=getppid$", Benchtime: 20 * time.Millisecond, Count: 3}
	vm := VMOptions{Kernel: k.Path, Initrd: img, Accel: "tcg",
		Cmdline: guestCmdline(extra, p)}
	v, err := Boot(context.Background(), BootSpec{VM: vm, Deadline: deadline}, filepath.Join(dir, "console.log"), filepath.Join(dir, "results.raw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s in %v: %s", v.Status, v.Wall.Round(time.Millisecond), v.Reason)
	return v
}

// guestCmdline is a test boot's kernel command line: the base, extra, then
// the guest's parameters p.
func guestCmdline(extra string, p guest.Params) string {
	return strings.Join(append(strings.Fields(baseCmdline+" "+extra), p.Args()...), " ")
}

// TestBootDeadlineCoversStart: a QEMU that never opens its control socket
// is stopped at the boot's deadline, as a hang, not waited on past it.
func TestBootDeadlineCoversStart(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "qemu")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	v, err := Boot(t.Context(), BootSpec{VM: VMOptions{QEMU: fake, Accel: "tcg", Kernel: "k", Initrd: "i"}, Deadline: 2 * time.Second},
		filepath.Join(dir, "console.log"), filepath.Join(dir, "results.raw"))
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != store.StatusHang || !strings.Contains(v.Reason, "control socket") {
		t.Errorf("status %s reason %q, want a hang at the control socket", v.Status, v.Reason)
	}
	// 2 s deadline, then up to 1 s for QEMU's last words: far below the
	// 60 s the fake would sleep.
	if took > 20*time.Second {
		t.Errorf("Boot took %v with a 2s deadline", took)
	}
}

// TestRemoveStaleVMDirs: the socket directory of a process that is gone is
// removed; a live process's, and anything else, stays.
func TestRemoveStaleVMDirs(t *testing.T) {
	tmp := t.TempDir()
	// A pid that is not running: a child that has exited and been reaped.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := fmt.Sprintf("kharness-vm-%d-123", cmd.Process.Pid)
	live := fmt.Sprintf("kharness-vm-%d-456", os.Getpid())
	for _, d := range []string{dead, live, "kharness-vm-x-1", "other"} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	removeStaleVMDirs(tmp)
	for d, want := range map[string]bool{dead: false, live: true, "kharness-vm-x-1": true, "other": true} {
		_, err := os.Stat(filepath.Join(tmp, d))
		if got := err == nil; got != want {
			t.Errorf("%s exists = %v, want %v", d, got, want)
		}
	}
}
