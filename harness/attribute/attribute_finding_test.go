package attribute

import (
	"bytes"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"kharness/harness/internal/harnesstest"
	"kharness/results/show"
	"kharness/results/store"
)

// TestAttributionFindings: bisect's attribution of the first bad kernel
// is one finding report a benchmark whose count moved, its functions
// adding up to the change, reproduced by the bisection's command and
// attribute's; a benchmark whose count did not move has none.
func TestAttributionFindings(t *testing.T) {
	history := t.TempDir()
	goodK := harnesstest.ProfiledRun(t, filepath.Join(history, "7.0.13"), "7.0.13", "7.0.13-1", map[uint64]uint64{0xffffffff81001000: 92})
	a := &Attribution{Dir: history + "/7.0.13", A: goodK, B: store.KernelInfo{Label: "7.1.3", Package: "linux-image-7.1.3", Version: "7.1.3-1"},
		Benches: []BenchAttribution{
			{Name: "NullSyscall/call=getppid", A: 292, B: 331, Funcs: []FuncCount{
				{"prandom_u32_state", 0, 40, 40}, {"do_syscall_64", 92, 91, -1}, {"entry_SYSCALL_64", 42, 42, 0}}},
			{Name: "Read/file=dev-zero/bytes=1", A: 600, B: 600, Funcs: []FuncCount{{"ksys_read", 50, 50, 0}}},
		}}
	fs, err := AttributionFindings(a, "mitigations=off", []string{"kharness bisect -good 7.0.13 -bad 7.3.4"})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 {
		t.Fatalf("%d findings, want 1 (the count that moved)", len(fs))
	}
	f := fs[0]
	sum := f.Why.Rest + f.Why.OthersDelta + f.Why.User
	for _, fn := range f.Why.Funcs {
		sum += fn.Delta
	}
	if math.Abs(sum-39) > 1e-9 || len(f.Why.Funcs) != 2 || len(f.A.Boots) != 2 || len(f.B.Boots) != 0 {
		t.Errorf("finding %+v: functions add up to %v, want +39 from 2 functions, 2 boots of A and none of B", f, sum)
	}
	var b bytes.Buffer
	if err := show.WriteFinding(&b, &f); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Subject: NullSyscall/call=getppid: +39 kernel instructions (+13.4%) from 7.0.13 to 7.1.3, in prandom_u32_state\n",
		"kernel command line \"mitigations=off\"",
		"  kharness bisect -good 7.0.13 -bad 7.3.4\n  kharness attribute -a linux-image-7.0.13 -b linux-image-7.1.3 -bench '^NullSyscall/call=getppid$' -cmdline mitigations=off\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("finding lacks %q:\n%s", want, b.String())
		}
	}
}
