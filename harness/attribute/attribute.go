// Package attribute names the kernel functions that account for a change
// of exact counts between two kernels: it runs both with the counting
// plugin's profile on, pairs the profiles per benchmark, and writes the
// result as text or as finding reports.
package attribute

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"kharness/harness"
	"kharness/kernels"
	"kharness/results/stats"
	"kharness/results/store"
	"kharness/results/stream"
)

// DefaultAttributeBench is the benchmark Attribute profiles unless told
// otherwise: the null system call.
const DefaultAttributeBench = "NullSyscall/call=getppid$"

// AttributeOptions say which two kernels Attribute compares, and how.
type AttributeOptions struct {
	// A and B are the kernels: a Debian family or package, or a bzImage.
	A, B kernels.Source
	// Bench is a regexp over benchmark names, as the config's bench.run:
	// only these run, and each is profiled. DefaultAttributeBench when
	// empty.
	Bench string
	// Boots is the boots per kernel (1 when zero). With more than one,
	// each benchmark's functions are those of a boot whose kernel count
	// is the one most boots have.
	Boots int
	// Cmdline holds extra kernel arguments for every boot.
	Cmdline string
	// Benchtime and Count are the timed samples before each count phase
	// ("20ms" and 1 when empty): only the calibration matters here, which
	// sets the counted stretches' length.
	Benchtime string
	Count     int
	// Run says where the run goes (OutDir, a run directory like run's,
	// resumed when it holds the same attribution), the cache, the source
	// of the guest image, QEMU, -j and progress.
	Run harness.RunOptions
}

// FuncCount is one kernel function's instructions per operation on each
// kernel, and B's less A's.
type FuncCount struct {
	Name  string  `json:"function"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
	Delta float64 `json:"delta"`
}

// BenchAttribution is one benchmark's kernel instructions per operation on
// both kernels, by function.
type BenchAttribution struct {
	Name string `json:"benchmark"`
	// A and B are the kernel instructions per operation (kinsns/op) of the
	// boots the functions come from; Funcs adds up to them.
	A float64 `json:"a"`
	B float64 `json:"b"`
	// BootsA and BootsB hold each profiled boot's kinsns/op.
	BootsA []float64 `json:"boots_a"`
	BootsB []float64 `json:"boots_b"`
	// Funcs holds every function that ran a different number of
	// instructions in the long stretch than in the short one on either
	// kernel, the largest change first.
	Funcs []FuncCount `json:"functions"`
}

// Attribution is what Attribute found.
type Attribution struct {
	Dir     string             `json:"dir"`
	A       store.KernelInfo   `json:"kernel_a"`
	B       store.KernelInfo   `json:"kernel_b"`
	Benches []BenchAttribution `json:"benchmarks"`
}

// Attribute boots kernels A and B under TCG with the counting plugin in
// profile mode and the guest sending its kernel's symbols, runs the
// benchmarks of o.Bench, and returns each one's kernel instructions per
// operation by function on both kernels. The boots go through Run, into
// o.Run.OutDir; the profiles are read back from the boots' files
// (stats.ProfileBoot). An error says why: a kernel that does not
// resolve, a kernel none of whose boots succeeded (with their reasons), a
// boot whose profile does not parse, a benchmark one kernel ran and the
// other did not.
func Attribute(ctx context.Context, o AttributeOptions) (*Attribution, error) {
	o.Bench = cmp.Or(o.Bench, DefaultAttributeBench)
	o.Boots = max(o.Boots, 1)
	o.Benchtime = cmp.Or(o.Benchtime, "20ms")
	o.Count = max(o.Count, 1)
	if _, err := regexp.Compile(o.Bench); err != nil {
		return nil, fmt.Errorf("attribute: benchmark regexp %q: %w", o.Bench, err)
	}
	var names [2]string
	var kcs [2]harness.KernelConfig
	for i, s := range []kernels.Source{o.A, o.B} {
		c, err := kernels.Resolve(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("attribute: kernel %s: %w", "AB"[i:i+1], err)
		}
		names[i] = harness.KernelLabel(c)
		names[i] = names[i][:min(len(names[i]), 38)]
		kcs[i] = harness.KernelConfig{Package: s.Package, Family: s.Family, Flavour: s.Flavour, Path: s.Path, SHA256: s.SHA256, Suite: s.Suite}
		if c.Package != "" {
			// The package as resolved now, with the suite it came from:
			// resuming the directory boots the same kernel.
			kcs[i] = harness.KernelConfig{Package: c.Package, Suite: c.Suite}
		}
	}
	if names[0] == names[1] {
		names[0], names[1] = names[0]+".a", names[1]+".b"
	}
	for i := range kcs {
		kcs[i].Name = names[i]
	}
	cfg, err := harness.ParseConfig("attribute.toml", []byte(attributeConfig(o, kcs)))
	if err != nil {
		return nil, fmt.Errorf("attribute: %w", err)
	}
	opt := o.Run
	opt.Config, opt.ConfigPath, opt.Profile, opt.Insns = cfg, "attribute.toml", true, "on"
	sum, err := harness.Run(ctx, opt)
	if err != nil {
		return nil, err
	}
	boots, err := store.LoadBoots(opt.OutDir)
	if err != nil {
		return nil, err
	}
	a := &Attribution{Dir: opt.OutDir, A: sum.Kernels[0], B: sum.Kernels[1]}
	var sides [2]map[string][]stream.BenchProfile
	for i := range sides {
		if sides[i], err = Profiles(boots, store.CellName(names[i], attributeConfigName)); err != nil {
			return nil, fmt.Errorf("attribute: kernel %s (%s): %w%s", "AB"[i:i+1], names[i], err, harness.BadBoots(sum.BadBoots))
		}
	}
	for _, name := range sortedNames(sides[0], sides[1]) {
		pa, pb := sides[0][name], sides[1][name]
		if len(pa) == 0 || len(pb) == 0 {
			return nil, fmt.Errorf("attribute: %s ran on only one of the kernels (%d and %d profiled boots): see the skip comments in %s", name, len(pa), len(pb), opt.OutDir)
		}
		a.Benches = append(a.Benches, PairProfiles(name, pa, pb))
	}
	if len(a.Benches) == 0 {
		return nil, fmt.Errorf("attribute: no benchmark matching %q was counted (see %s)", o.Bench, opt.OutDir)
	}
	return a, nil
}

// attributeConfigName names the boot config of an attribution's cells.
const attributeConfigName = "attribute"

// attributeConfig is the matrix file of an attribution: both kernels, one
// boot config, exact counts on under TCG.
func attributeConfig(o AttributeOptions, kcs [2]harness.KernelConfig) string {
	var b strings.Builder
	b.WriteString(harness.CountedConfigHead("attribute", o.Boots, "180s", o.Bench, o.Benchtime, o.Count))
	for _, k := range kcs {
		b.WriteString(k.TOML())
	}
	fmt.Fprintf(&b, "[[config]]\nname = %q\ncmdline = %q\n", attributeConfigName, o.Cmdline)
	return b.String()
}

// Profiles reads the profiles of cell's ok boots, by benchmark.
func Profiles(boots []*store.BootRecord, cell string) (map[string][]stream.BenchProfile, error) {
	out := map[string][]stream.BenchProfile{}
	n := 0
	for _, b := range boots {
		if b.Cell != cell || !b.Status.OK() {
			continue
		}
		ps, err := stats.ProfileBoot(b.Dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Dir, err)
		}
		for _, p := range ps {
			out[p.Name] = append(out[p.Name], p)
		}
		n++
	}
	if n == 0 {
		return nil, errors.New("no boot succeeded")
	}
	return out, nil
}

// sortedNames is the benchmarks of both sides, in name order.
func sortedNames(a, b map[string][]stream.BenchProfile) []string {
	var names []string
	for _, m := range []map[string][]stream.BenchProfile{a, b} {
		for n := range m {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	return names
}

// PairProfiles pairs one benchmark's profiles of both kernels.
func PairProfiles(name string, pa, pb []stream.BenchProfile) BenchAttribution {
	ra, rb := stats.Representative(pa), stats.Representative(pb)
	ba := BenchAttribution{Name: name, A: ra.KernelPerOp(), B: rb.KernelPerOp()}
	for _, p := range pa {
		ba.BootsA = append(ba.BootsA, p.KernelPerOp())
	}
	for _, p := range pb {
		ba.BootsB = append(ba.BootsB, p.KernelPerOp())
	}
	fns := map[string]bool{}
	for f := range ra.Funcs {
		fns[f] = true
	}
	for f := range rb.Funcs {
		fns[f] = true
	}
	for f := range fns {
		a, b := ra.PerOp(f), rb.PerOp(f)
		ba.Funcs = append(ba.Funcs, FuncCount{Name: f, A: a, B: b, Delta: b - a})
	}
	slices.SortFunc(ba.Funcs, func(x, y FuncCount) int {
		return cmp.Or(cmp.Compare(math.Abs(y.Delta), math.Abs(x.Delta)), cmp.Compare(x.Name, y.Name))
	})
	return ba
}
