package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kharness/results/store"
	"kharness/results/stream"
)

// TestWriteBootBenchHostKey: a valid stream whose config claims a key the
// host writes fails its boot, with the reason, instead of the run.
func TestWriteBootBenchHostKey(t *testing.T) {
	st := &stream.Stream{
		Config:  []stream.KV{{Key: "accel", Value: "kvm"}},
		Results: []stream.Result{{Name: "NullSyscall", Iters: 1, Values: []stream.Value{{Value: 1, Unit: "ns/op"}}}},
	}
	rec := &store.BootRecord{Status: store.StatusOK}
	path := filepath.Join(t.TempDir(), store.BenchFile)
	if err := WriteBootBench(rec, st, []stream.KV{{Key: "accel", Value: "tcg"}}, path); err != nil {
		t.Fatalf("WriteBootBench: %v, want the boot failed, not an error", err)
	}
	if rec.Status != store.StatusGarbled || !strings.Contains(rec.Reason, "accel") {
		t.Errorf("status %s reason %q, want garbled naming accel", rec.Status, rec.Reason)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("%s written for a failed boot", path)
	}
	// The same stream without the clash is stored.
	st.Config = []stream.KV{{Key: "kernel-cmdline", Value: "quiet"}}
	rec = &store.BootRecord{Status: store.StatusOK}
	if err := WriteBootBench(rec, st, []stream.KV{{Key: "accel", Value: "tcg"}}, path); err != nil || rec.Status != store.StatusOK || rec.BenchSHA256 == "" {
		t.Errorf("clean stream: %v, status %s, sha %q", err, rec.Status, rec.BenchSHA256)
	}
}

// TestFailedStartLeavesNoRecord: a run that fails before its first boot (a
// kernel file whose sha256 is not the one configured) writes no run.json,
// so the same directory takes the corrected config afterwards instead of
// refusing it as "a different config".
func TestFailedStartLeavesNoRecord(t *testing.T) {
	dir := t.TempDir()
	kernel := filepath.Join(dir, "bzImage")
	if err := os.WriteFile(kernel, []byte("not a kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run")
	for i, sum := range []string{strings.Repeat("0", 64), strings.Repeat("1", 64)} {
		src := fmt.Sprintf("boots = 1\naccel = \"tcg\"\n[[kernel]]\nname = \"k\"\npath = %q\nsha256 = %q\n", kernel, sum)
		cfg, err := ParseConfig("k.toml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Run(t.Context(), RunOptions{Config: cfg, ConfigPath: "k.toml", OutDir: out, CacheDir: filepath.Join(dir, "cache")})
		if err == nil || strings.Contains(err.Error(), "different config") {
			t.Fatalf("attempt %d: %v; want the kernel's sha256 refused, not the directory", i+1, err)
		}
		if _, err := os.Stat(filepath.Join(out, store.RunFile)); !os.IsNotExist(err) {
			t.Fatalf("attempt %d left %s (%v)", i+1, store.RunFile, err)
		}
	}
}
