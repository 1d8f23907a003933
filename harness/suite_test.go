package harness

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kharness/guest"
	"kharness/results"
)

// TestSuiteBoot boots the fixture kernel once with the whole guest suite
// and the fidelity check, with short samples, and checks that every
// benchmark reported numbers or said why it skipped.
func TestSuiteBoot(t *testing.T) {
	k, img := bootFixture(t)
	dir := t.TempDir()
	cfg := &Config{Bench: BenchConfig{Run: ".", Benchtime: "5ms", Count: 2}}
	vm := VMOptions{Kernel: k.Path, Initrd: img, Accel: "tcg",
		Cmdline: cmdline(cfg, BootConfig{Cmdline: "kharness.fidelity=1"}, "")}
	v, err := Boot(context.Background(), BootSpec{VM: vm, Deadline: 120 * time.Second},
		filepath.Join(dir, "console.log"), filepath.Join(dir, "results.raw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s in %v: %s", v.Status, v.Wall.Round(time.Millisecond), v.Reason)
	if v.Status != results.StatusOK {
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
		if !(ref > 0.5 && ref < 200) {
			t.Errorf("%s: %s %v, want in (0.5, 200)", r.Name, guest.RefUnit, ref)
		}
	}
	skipped := map[string]string{}
	for _, s := range v.Stream.Skips {
		skipped[s.Name] = s.Reason
		t.Logf("skip %s: %s", s.Name, s.Reason)
	}
	for _, b := range guest.Benchmarks() {
		if got[b.Name] != 2 && skipped[b.Name] == "" {
			t.Errorf("%s: %d lines and no skip", b.Name, got[b.Name])
		}
	}
	for _, name := range []string{"NullSyscall/call=getppid", "PipeRoundTrip/procs=2", "CtxSwitch/procs=2/ws=0KiB"} {
		for _, impl := range []string{guest.ImplGo, guest.ImplC} {
			if got[name+impl] != 2 {
				t.Errorf("fidelity %s%s: %d lines", name, impl, got[name+impl])
			}
		}
	}
	t.Logf("%d lines, %d skips", len(v.Stream.Results), len(v.Stream.Skips))
}
