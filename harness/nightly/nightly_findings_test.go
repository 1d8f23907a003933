package nightly

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kharness/harness/internal/harnesstest"
	"kharness/internal/atomicfile"
)

// nightlyKernelFixture puts kernel label (package version) into history as a
// nightly run of the [[kernel]] entry "watched": harnesstest.ProfiledRun's
// boots, and its nightly.json.
func nightlyKernelFixture(t *testing.T, history, label, version string, started time.Time, perCall map[uint64]uint64) *NightlyRecord {
	t.Helper()
	dir := filepath.Join(history, label)
	k := harnesstest.ProfiledRun(t, dir, label, version, perCall)
	rec := &NightlyRecord{Kernel: k, Status: "complete", Watch: "watched", Started: started}
	if err := atomicfile.WriteJSON(filepath.Join(dir, nightlyFile), rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestNightlyFindings: a newly published kernel whose count moved against
// the kernel before it gets one finding report, naming the function; one
// whose count did not move, or that has no kernel before it, gets none.
func TestNightlyFindings(t *testing.T) {
	history := t.TempDir()
	t0 := nightlyTime(0)
	base := map[uint64]uint64{0xffffffff81e00000: 42, 0xffffffff81001000: 92}
	plus := map[uint64]uint64{0xffffffff81e00000: 42, 0xffffffff81001000: 91, 0xffffffff81002000: 40}
	first := nightlyKernelFixture(t, history, "7.0.13", "7.0.13-1", t0, base)
	if paths, err := nightlyFindings(history, first); err != nil || len(paths) != 0 {
		t.Fatalf("the first kernel: findings %v, %v; want none", paths, err)
	}
	// The next night: 7.1.3 published, 39 instructions more.
	changed := nightlyKernelFixture(t, history, "7.1.3", "7.1.3-1", t0.Add(24*time.Hour), plus)
	paths, err := nightlyFindings(history, changed)
	if err != nil || len(paths) != 1 {
		t.Fatalf("a kernel whose count moved: findings %v, %v; want one", paths, err)
	}
	if filepath.Dir(paths[0]) != filepath.Join(history, "7.1.3", nightlyFindingsDir) {
		t.Errorf("finding written to %s, want the new kernel's findings directory", paths[0])
	}
	b, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{
		"Subject: NullSyscall/call=getppid: +39 kernel instructions (+29.1%) from 7.0.13 to 7.1.3, in prandom_u32_state\n",
		"  prandom_u32_state       0     40    +40\n",
		"kharness attribute -a linux-image-7.0.13 -b linux-image-7.1.3 -bench '^NullSyscall/call=getppid$'",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("finding lacks %q:\n%s", want, text)
		}
	}
	// The night after: 7.1.7, the same count as 7.1.3, which it is
	// compared with (not 7.0.13).
	same := nightlyKernelFixture(t, history, "7.1.7", "7.1.7-1", t0.Add(48*time.Hour), plus)
	if paths, err := nightlyFindings(history, same); err != nil || len(paths) != 0 {
		t.Errorf("a kernel whose count did not move: findings %v, %v; want none", paths, err)
	}
	if _, err := os.Stat(filepath.Join(history, "7.1.7", nightlyFindingsDir)); !os.IsNotExist(err) {
		t.Errorf("a findings directory for a kernel with none: %v", err)
	}
}

// nightlyTime is a night's start: day d of December 2026.
func nightlyTime(d int) time.Time { return time.Date(2026, 12, 1+d, 0, 0, 0, 0, time.UTC) }
