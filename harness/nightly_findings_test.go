package harness

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kharness/internal/atomicfile"
	"kharness/results/store"
	"kharness/results/stream"
	"kharness/results/wire"
)

// nightlyKernelFixture puts kernel label (package version) into history as a
// nightly run of the [[kernel]] entry "watched": two boots of a null
// syscall, the first profiled, whose kernel runs perCall instructions a
// call in each function (the counting plugin's and the guest's files as a
// profiled boot writes them), and its nightly.json.
func nightlyKernelFixture(t *testing.T, history, label, version string, started time.Time, perCall map[uint64]uint64) *NightlyRecord {
	t.Helper()
	k := store.KernelInfo{Label: label, Package: "linux-image-" + label, Version: version, Release: label}
	dir := filepath.Join(history, label)
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var kernel uint64
	for _, n := range perCall {
		kernel += n
	}
	name := "NullSyscall/call=getppid"
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte("ffffffff81001000 do_syscall_64\nffffffff81002000 prandom_u32_state\nffffffff81e00000 entry_SYSCALL_64\n"))
	zw.Close()
	for i := range 2 {
		a, err := s.NewAttempt(store.CellName(label, "default"), i, 1)
		if err != nil {
			t.Fatal(err)
		}
		raw := "insncount 2\nB " + wire.InsnsTag(name) + "\n"
		for _, calls := range []uint64{100, 200, 100, 200} {
			for addr, n := range perCall {
				raw += fmt.Sprintf("P %x %d\n", addr, n*calls)
			}
			raw += fmt.Sprintf("S %d %d\n", (kernel+4)*calls, kernel*calls)
		}
		body := "kharness-stream: 1\n# insns Benchmark" + name + " iters=100 ops-per-iter=1 reps=2\n# " + stream.KallsymsPrefix + base64.StdEncoding.EncodeToString(z.Bytes()) + "\n"
		body += fmt.Sprintf("# kharness-end count=0 sha256=%x\n", sha256.Sum256([]byte(body)))
		bench := fmt.Sprintf("Benchmark%s 100 %d insns/op %d kinsns/op\n", name, kernel+4, kernel)
		for f, text := range map[string]string{store.RawFile: body, stream.InsnsFile: raw, store.BenchFile: bench} {
			if err := os.WriteFile(a.Path(f), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		sum := sha256.Sum256([]byte(bench))
		rec := &store.BootRecord{Kernel: k, Config: store.BootConfig{Name: "default"}, Boot: i, Accel: "tcg", Status: store.StatusOK,
			BenchSHA256: hex.EncodeToString(sum[:]), Argv: []string{"qemu-system-x86_64", "-plugin", "insncount.so,out=insns.raw"}}
		if i == 0 {
			rec.Argv[2] += ",profile=on"
		}
		if err := a.Commit(rec); err != nil {
			t.Fatal(err)
		}
	}
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
