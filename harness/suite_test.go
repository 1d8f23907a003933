package harness

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kharness/guest"
	"kharness/guest/bench"
	"kharness/harness/internal/harnesstest"
	"kharness/harness/vm"
	"kharness/results/store"
)

// TestSuiteBoot boots the fixture kernel once with the whole guest suite
// and the fidelity check, with short samples, and checks that every
// benchmark reported numbers or said why it skipped.
func TestSuiteBoot(t *testing.T) {
	k, img := harnesstest.Fixture(t)
	dir := t.TempDir()
	cfg := &Config{Bench: BenchConfig{Run: ".", Benchtime: "5ms", Count: 2}}
	vmo := vm.VMOptions{Kernel: k.Path, Initrd: img, Accel: "tcg",
		Cmdline: cmdline(cfg, BootConfig{Cmdline: "kharness.fidelity=1"}, "")}
	v, err := vm.Boot(context.Background(), vm.BootSpec{VM: vmo, Deadline: 600 * time.Second},
		filepath.Join(dir, "console.log"), filepath.Join(dir, "results.raw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s in %v: %s", v.Status, v.Wall.Round(time.Millisecond), v.Reason)
	if v.Status != store.StatusOK {
		t.Fatalf("boot %s: %s\n%s", v.Status, v.Reason, strings.Join(v.ConsoleTail, "\n"))
	}
	got := map[string]int{}
	for _, r := range v.Stream.Results {
		got[r.Name]++
		if strings.HasSuffix(r.Name, guest.ImplGo) || strings.HasSuffix(r.Name, guest.ImplC) {
			continue // the fidelity pairs time no reference
		}
		// Every suite sample carries the host reference, some ns an
		// iteration under TCG (the host guard reads it).
		ref := -1.0
		for _, val := range r.Values {
			if val.Unit == guest.RefUnit {
				ref = val.Value
			}
		}
		if !(ref > 0.5 && ref < 1e4) {
			t.Errorf("%s: %s %v, want in (0.5, 1e4)", r.Name, guest.RefUnit, ref)
		}
	}
	skipped := map[string]string{}
	for _, s := range v.Stream.Skips {
		skipped[s.Name] = s.Reason
		t.Logf("skip %s: %s", s.Name, s.Reason)
	}
	// A sample whose subtracted overhead is not below its total has no
	// line but a failed-sample comment (under a loaded host a thread hop
	// and a pipe write and read can cost alike).
	failed := map[string]int{}
	for _, c := range v.Stream.Comments {
		if rest, ok := strings.CutPrefix(c, guest.FailedSamplePrefix+"Benchmark"); ok {
			name, _, _ := strings.Cut(rest, ":")
			failed[name]++
			t.Logf("failed sample: %s", c)
		}
	}
	for _, b := range bench.Benchmarks() {
		if got[b.Name]+failed[b.Name] != 2 && skipped[b.Name] == "" {
			t.Errorf("%s: %d lines, %d failed samples and no skip", b.Name, got[b.Name], failed[b.Name])
		}
	}
	for _, name := range []string{"NullSyscall/call=getppid", "PipeRoundTrip/procs=2", "CtxSwitch/procs=2/ws=0KiB"} {
		// A failed Go sample has no C partner in its round.
		if g, c, f := got[name+guest.ImplGo], got[name+guest.ImplC], failed[name+guest.ImplGo]; g+f != 2 || c+f != 2 {
			t.Errorf("fidelity %s: %d Go and %d C lines, %d failed rounds", name, g, c, f)
		}
	}
	// The 32-bit helper ran: qemu64 is an AMD-vendor CPU, so the boot
	// patched SYSCALL into __kernel_vsyscall, and SYSENTER (#UD there) is
	// skipped with the reason.
	hdr := map[string]string{}
	for _, kv := range v.Stream.Config {
		hdr[kv.Key] = kv.Value
	}
	if hdr["vsyscall32"] != "syscall" || hdr["cpu-vendor"] != "AuthenticAMD" {
		t.Errorf("vsyscall32 %q, cpu-vendor %q: want syscall on qemu64's AuthenticAMD", hdr["vsyscall32"], hdr["cpu-vendor"])
	}
	for _, e := range []string{"int80", "vsyscall", "syscall"} {
		if name := "NullSyscall32/call=getppid/entry=" + e; got[name]+failed[name] != 2 {
			t.Errorf("%s: %d lines, skipped %q: the 32-bit helper did not run", name, got[name], skipped[name])
		}
	}
	if !strings.Contains(skipped["NullSyscall32/call=getppid/entry=sysenter"], "#UD on AMD") {
		t.Errorf("sysenter on an AMD-vendor CPU: skip %q", skipped["NullSyscall32/call=getppid/entry=sysenter"])
	}
	if hdr["vuln-meltdown"] == "" {
		t.Error("no vuln-meltdown in the header: the kernel's vulnerabilities were not read")
	}
	t.Logf("%d lines, %d skips", len(v.Stream.Results), len(v.Stream.Skips))
}
