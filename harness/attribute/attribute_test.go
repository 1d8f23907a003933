package attribute

import (
	"bytes"
	"context"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"kharness/harness"
	"kharness/harness/internal/harnesstest"
	"kharness/kernels"
	"kharness/results/stats"
	"kharness/results/store"
	"kharness/results/stream"
)

// TestAttributeGetppid boots the newest Debian 6.1 cloud kernel as both A
// and B with the counting plugin in profile mode, and checks the null
// syscall's attribution: the functions add up to the boot's kinsns/op,
// and the entry code and getppid's handler are among them.
func TestAttributeGetppid(t *testing.T) {
	harnesstest.Fixture(t) // QEMU, the kernel and the image, or the reason not
	srcDir := harnesstest.Source(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	k := kernels.Source{Family: "6.1", Flavour: "cloud-amd64"}
	start := time.Now()
	a, err := Attribute(ctx, AttributeOptions{A: k, B: k, Benchtime: "10ms",
		Run: harness.RunOptions{OutDir: t.TempDir(), CacheDir: harnesstest.Cache(t), SourceDir: srcDir, Jobs: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("attributed in %v", time.Since(start).Round(time.Millisecond))
	var out bytes.Buffer
	WriteAttribution(&out, a, 10)
	t.Logf("\n%s", out.String())
	if len(a.Benches) != 1 || a.Benches[0].Name != "NullSyscall/call=getppid" {
		t.Fatalf("benchmarks %+v, want the null syscall alone", a.Benches)
	}
	b := a.Benches[0]
	// Each side's functions add up to its boot's kinsns/op, as the boot's
	// stored Benchmark line has it.
	re := regexp.MustCompile(`^NullSyscall/call=getppid$`)
	for _, side := range []struct {
		name  string
		label string
		total float64
		get   func(FuncCount) float64
	}{{"A", a.A.Label, b.A, func(f FuncCount) float64 { return f.A }}, {"B", a.B.Label, b.B, func(f FuncCount) float64 { return f.B }}} {
		var sum float64
		found := map[string]float64{}
		for _, f := range b.Funcs {
			sum += side.get(f)
			switch {
			case strings.Contains(f.Name, "entry_SYSCALL_64") || strings.Contains(f.Name, "do_syscall_64"):
				found["entry"] += side.get(f)
			case strings.Contains(f.Name, "getppid"):
				found["getppid"] += side.get(f)
			}
		}
		if math.Abs(sum-side.total) > 1e-9 {
			t.Errorf("%s: the functions add up to %v kernel instructions a call, the count is %v", side.name, sum, side.total)
		}
		label := side.label
		stored, _, _, err := stats.BootSamples([]string{a.Dir}, func(r *store.BootRecord) bool { return r.Kernel.Label == label },
			re, stream.KernelInsnsUnit, stats.StatMedian, -1)
		if err != nil || len(stored) != 1 || stored[0] != side.total {
			t.Errorf("%s: the boot stored %v kinsns/op (%v), the attribution says %v", side.name, stored, err, side.total)
		}
		for _, what := range []string{"entry", "getppid"} {
			if found[what] <= 0 {
				t.Errorf("%s: no %s function with a count among %v", side.name, what, b.Funcs)
			}
		}
	}
}

// profileOf is a BenchProfile of ops operations with the given functions'
// instructions per operation.
func profileOf(ops uint64, funcs map[string]int64) stream.BenchProfile {
	p := stream.BenchProfile{Name: "NullSyscall/call=getppid", Ops: ops, Funcs: map[string]int64{}}
	for f, n := range funcs {
		p.Funcs[f] = n * int64(ops)
		p.Kernel += uint64(n * int64(ops))
	}
	return p
}

func TestAttributePairs(t *testing.T) {
	a := []stream.BenchProfile{
		profileOf(100, map[string]int64{"entry_SYSCALL_64": 41, "do_syscall_64": 31, "exit_to_user_mode_prepare": 31, "__x64_sys_getppid": 5}),
		profileOf(100, map[string]int64{"entry_SYSCALL_64": 41, "do_syscall_64": 31, "exit_to_user_mode_prepare": 31, "__x64_sys_getppid": 5}),
		profileOf(200, map[string]int64{"entry_SYSCALL_64": 41, "do_syscall_64": 31, "exit_to_user_mode_prepare": 40, "__x64_sys_getppid": 5}),
	}
	b := []stream.BenchProfile{profileOf(50, map[string]int64{"entry_SYSCALL_64": 42, "do_syscall_64": 60, "__x64_sys_getppid": 5})}
	ba := PairProfiles("NullSyscall/call=getppid", a, b)
	if ba.A != 108 || ba.B != 107 || len(ba.BootsA) != 3 || ba.BootsA[2] != 117 {
		t.Fatalf("A %v B %v boots %v: want the two boots that agree (108) for A", ba.A, ba.B, ba.BootsA)
	}
	var names []string
	for _, f := range ba.Funcs {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); got != "exit_to_user_mode_prepare do_syscall_64 entry_SYSCALL_64 __x64_sys_getppid" {
		t.Errorf("functions in order %s: want the largest change first, then by name", got)
	}
	var out bytes.Buffer
	WriteAttribution(&out, &Attribution{Dir: "runs/x", A: store.KernelInfo{Release: "6.1.0-57-cloud-amd64", Package: "p", Version: "1"},
		B: store.KernelInfo{Release: "6.12.118+deb12-cloud-amd64", Package: "q", Version: "2"}, Benches: []BenchAttribution{ba}}, 2)
	want := `A: 6.1.0-57-cloud-amd64 (p 1)
B: 6.12.118+deb12-cloud-amd64 (q 2)

NullSyscall/call=getppid: A 108 -> B 107 kernel insns/op (-1)
  A's boots disagree (108, 108, 117): the functions are those of a boot with the most common count
  function                    A   B  delta
  exit_to_user_mode_prepare  31   0    -31
  do_syscall_64              31  60    +29
  (2 others)                 46  47     +1

results: runs/x
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestAttributeConfig(t *testing.T) {
	o := AttributeOptions{Bench: DefaultAttributeBench, Boots: 2, Benchtime: "20ms", Count: 1, Cmdline: "pti=on"}
	src := attributeConfig(o, [2]harness.KernelConfig{{Name: "6.1.0-57-cloud-amd64", Package: "linux-image-6.1.0-57-cloud-amd64-unsigned"}, {Name: "mine", Path: "/k/bzImage"}})
	cfg, err := harness.ParseConfig("attribute.toml", []byte(src))
	if err != nil {
		t.Fatalf("%v in\n%s", err, src)
	}
	if cfg.Accel != "tcg" || cfg.Insns != "on" || cfg.Boots != 2 || cfg.Bench.Run != DefaultAttributeBench ||
		len(cfg.Kernels) != 2 || cfg.Kernels[1].Path != "/k/bzImage" || cfg.Configs[0].Cmdline != "pti=on" {
		t.Errorf("config %+v from\n%s", cfg, src)
	}
}
