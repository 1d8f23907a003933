package nightly

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kharness/harness"
	"kharness/harness/internal/harnesstest"
	"kharness/kernels"
	"kharness/results/stats"
)

// TestNightlyNewKernelFindings runs two nights over an index that grows
// between them, as Debian's does when it publishes a kernel (the one thing
// faked here: a test cannot make Debian publish). Night 1 lists the
// second-newest 6.1 cloud kernel; night 2 adds the newest 6.1 and the
// newest 6.12. Every kernel boots for real (2 boots and the profiled one),
// and each new kernel is compared with the one before it: a kernel whose
// null-syscall count moved gets finding reports naming the benchmark and
// both kernels, one whose count stayed gets none. The 6.1 -> 6.12 step
// always moves (321 -> 320 kernel instructions); the two 6.1 point
// releases read the same today (6.1.0-56 and -57: 321), and where a future
// pair does not, the rule is checked all the same.
func TestNightlyNewKernelFindings(t *testing.T) {
	harnesstest.Fixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	six1, err := kernels.ListFamily(ctx, "6.1", "cloud-amd64")
	if err != nil || len(six1) < 2 {
		t.Skipf("apt lists %d 6.1 cloud kernels (%v): the test needs two", len(six1), err)
	}
	six12, err := kernels.Resolve(ctx, kernels.Source{Family: "6.12", Flavour: "cloud-amd64"})
	if err != nil {
		t.Fatal(err)
	}
	older, newer := six1[len(six1)-2], six1[len(six1)-1]
	cfg, err := harness.ParseConfig("nightly.toml", []byte(`
boots = 2
retries = 1
accel = "tcg"
timeout = "300s"
[bench]
run = "NullSyscall/call=getppid$"
benchtime = "5ms"
count = 1
[[kernel]]
name = "cloud"
family = "6.1"
[[config]]
name = "default"
`))
	if err != nil {
		t.Fatal(err)
	}
	history := t.TempDir()
	index := []kernels.Candidate{older}
	opt := NightlyOptions{History: history,
		List: func(context.Context, harness.KernelConfig) ([]kernels.Candidate, error) { return index, nil },
		Run: harness.RunOptions{Config: cfg, CacheDir: harnesstest.Cache(t), SourceDir: harnesstest.Source(t),
			Jobs: 1, Progress: &harness.Progress{W: harnesstest.Log(t)}}}
	res, err := Nightly(ctx, opt)
	if err != nil || len(res.Ran) != 1 || len(res.Findings) != 0 {
		t.Fatalf("night 1: ran %v, findings %v, %v; want the one kernel and no finding (nothing before it)", res.Ran, res.Findings, err)
	}
	index = []kernels.Candidate{older, newer, six12}
	if res, err = Nightly(ctx, opt); err != nil || len(res.Ran) != 2 || len(res.Skipped) != 1 {
		t.Fatalf("night 2: ran %v, skipped %v, %v; want the 2 new kernels", res.Ran, res.Skipped, err)
	}
	for _, pair := range [][2]kernels.Candidate{{older, newer}, {newer, six12}} {
		before, after := harness.KernelLabel(pair[0]), harness.KernelLabel(pair[1])
		a, b := kinsns(t, filepath.Join(history, before)), kinsns(t, filepath.Join(history, after))
		var mine []string
		for _, f := range res.Findings {
			if strings.HasPrefix(f, filepath.Join(history, after)+string(filepath.Separator)) {
				mine = append(mine, f)
			}
		}
		t.Logf("%s %v -> %s %v kinsns/op: findings %v", before, a, after, b, mine)
		if (a == b) != (len(mine) == 0) {
			t.Errorf("%s -> %s: %v -> %v kinsns/op, yet %d finding reports", before, after, a, b, len(mine))
		}
		for _, f := range mine {
			text, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			subject, _, _ := strings.Cut(string(text), "\n")
			if !strings.Contains(subject, "getppid") || !strings.Contains(string(text), before) || !strings.Contains(string(text), after) {
				t.Errorf("%s does not name the benchmark and both kernels:\n%s", f, text)
			}
		}
	}
	if a, b := kinsns(t, filepath.Join(history, harness.KernelLabel(newer))), kinsns(t, filepath.Join(history, harness.KernelLabel(six12))); a == b {
		t.Errorf("6.1 and 6.12 read the same null syscall count (%v): the changed case was not exercised", a)
	}
}

// kinsns is a run's null-syscall kinsns/op, the median over its boots.
func kinsns(t *testing.T, dir string) float64 {
	t.Helper()
	tab, err := stats.Compare([]string{dir}, stats.CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tab.Rows {
		if r.Unit == "kinsns/op" && r.Cells[0].Boots >= 2 {
			return r.Cells[0].Center
		}
	}
	t.Fatalf("%s: no kinsns/op row of 2 boots or more", dir)
	return 0
}
