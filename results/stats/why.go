package stats

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"kharness/results/store"
	"kharness/results/stream"
)

// WhyTop is how many functions a called exact cell's attribution names
// (Why.Funcs); the others are summed into Why.OthersDelta.
const WhyTop = 6

// FuncDelta is one kernel function's instructions per operation in the
// profiled boots of the base cell (A) and the compared cell (B), and B's
// less A's.
type FuncDelta struct {
	Name  string  `json:"function"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
	Delta float64 `json:"delta"`
}

// Why says what accounts for a called exact cell's Delta, from the boots
// the run profiled (a boot whose counting plugin ran with profile=on: by
// default under TCG the first of each cell). Funcs, OthersDelta, User and
// Rest add up to the cell's Delta.
type Why struct {
	// Funcs holds the WhyTop kernel functions whose instructions per
	// operation changed the most, the largest change first.
	Funcs []FuncDelta `json:"functions"`
	// Others is how many more functions changed; OthersDelta their change.
	Others      int     `json:"others"`
	OthersDelta float64 `json:"others_delta"`
	// User is the change at user addresses: on an insns/op row, the row's
	// Delta less the kinsns/op row's; 0 on a kinsns/op row.
	User float64 `json:"user"`
	// Rest is the kernel change the profiled boots do not show: the
	// kinsns/op Delta (over every boot's count) less the profiled boots'
	// difference. Not 0 only where a cell's boots disagree.
	Rest float64 `json:"rest"`
	// BootA and BootB are the directories of the profiled boots the
	// functions come from.
	BootA string `json:"boot_a"`
	BootB string `json:"boot_b"`
}

// Profiled reports whether boot b ran with the counting plugin in profile
// mode, so that its plugin file holds its kernel blocks.
func Profiled(b *store.BootRecord) bool {
	for _, a := range b.Argv {
		if strings.Contains(a, "insncount") && strings.Contains(a, "profile=on") {
			return true
		}
	}
	return false
}

// ProfileBoot reads the kernel profile of a stored boot attempt's
// directory: its results stream and plugin file (see stream.Profile).
func ProfileBoot(dir string) ([]stream.BenchProfile, error) {
	rawStream, err := stream.ReadStored(filepath.Join(dir, store.RawFile))
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	s, err := stream.Parse(bytes.NewReader(rawStream), stream.ProfileStreamLimit)
	if err != nil {
		return nil, fmt.Errorf("profile: %s: %w", filepath.Join(dir, store.RawFile), err)
	}
	raw, err := stream.ReadInsnsFile(filepath.Join(dir, stream.InsnsFile))
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	return stream.Profile(s, raw)
}

// Representative is the first of ps whose kernel count is the one most of
// them have: a boot that took the operation's usual path.
func Representative(ps []stream.BenchProfile) *stream.BenchProfile {
	best, bestN := 0, 0
	for i, p := range ps {
		n := 0
		for _, q := range ps {
			if q.KernelPerOp() == p.KernelPerOp() {
				n++
			}
		}
		if n > bestN {
			best, bestN = i, n
		}
	}
	return &ps[best]
}

// FuncDeltas is every function that ran a different number of
// instructions in b than in a, with the change, the
// largest first (by name on a tie).
func FuncDeltas(a, b *stream.BenchProfile) []FuncDelta {
	var out []FuncDelta
	for f := range a.Funcs {
		out = append(out, FuncDelta{Name: f, A: a.PerOp(f), B: b.PerOp(f)})
	}
	for f := range b.Funcs {
		if _, ok := a.Funcs[f]; !ok {
			out = append(out, FuncDelta{Name: f, A: 0, B: b.PerOp(f)})
		}
	}
	for i := range out {
		out[i].Delta = out[i].B - out[i].A
	}
	out = slices.DeleteFunc(out, func(f FuncDelta) bool { return f.Delta == 0 })
	slices.SortFunc(out, func(x, y FuncDelta) int {
		return cmp.Or(cmp.Compare(math.Abs(y.Delta), math.Abs(x.Delta)), cmp.Compare(x.Name, y.Name))
	})
	return out
}

// profiledBoot is one profiled boot's profiles by benchmark.
type profiledBoot struct {
	dir   string
	bench map[string]stream.BenchProfile
}

// whyFinder reads the profiled boots of a comparison's cells, once each.
type whyFinder struct {
	boots map[[2]string][]*store.BootRecord // profiled ok boots by kernel and config
	read  map[string]*profiledBoot
	// missing counts called exact cells with no attribution; reason is the
	// first one's why.
	missing int
	reason  string
}

// attribute gives every called exact cell of t its Why, from the profiled
// boots among boots; where it cannot, t.NoWhy says why and how to get
// one. The run axis (a cell per run directory) is left without.
func (t *Table) attribute(boots []*store.BootRecord) {
	if t.Column == "run" {
		return
	}
	f := &whyFinder{boots: map[[2]string][]*store.BootRecord{}, read: map[string]*profiledBoot{}}
	for _, b := range boots {
		if b.Status.OK() && Profiled(b) {
			id := [2]string{b.Kernel.Label, b.Config.Name}
			f.boots[id] = append(f.boots[id], b)
		}
	}
	kdelta := map[[3]string]float64{} // kinsns/op deltas by benchmark, row key and column
	for _, r := range t.Rows {
		for i, c := range r.Cells {
			if r.Unit == stream.KernelInsnsUnit && c.Compared {
				kdelta[[3]string{r.Benchmark, r.Key, t.Columns[i]}] = c.Delta
			}
		}
	}
	for ri := range t.Rows {
		r := &t.Rows[ri]
		if !stream.ExactUnit(r.Unit) {
			continue
		}
		for i := 1; i < len(r.Cells); i++ {
			c := &r.Cells[i]
			if c.Call != CallRegression && c.Call != CallImprovement {
				continue
			}
			kd, ok := kdelta[[3]string{r.Benchmark, r.Key, t.Columns[i]}]
			if !ok {
				kd = c.Delta
			}
			c.Why = f.why(r.Benchmark, r.Cells[0], *c, kd)
		}
	}
	if f.missing > 0 {
		t.NoWhy = fmt.Sprintf("%d called exact cells name no functions (%s): `kharness run` profiles an extra first boot of each cell under TCG (-profile first, the default; a profiled boot whose stretches agree on no count names no functions); `kharness attribute -a KERNEL -b KERNEL` any two kernels", f.missing, f.reason)
	}
}

// why is the attribution of cell c against base on benchmark name, whose
// kernel count changed by kd; nil (counted in f.missing) without profiled
// boots of both cells.
func (f *whyFinder) why(name string, base, c Cell, kd float64) *Why {
	var sides [2][]stream.BenchProfile
	var dirs [2]string
	for s, cell := range []Cell{base, c} {
		for _, b := range f.boots[[2]string{cell.Kernel, cell.Config}] {
			p := f.profile(b.Dir)
			if bp, ok := p.bench[name]; ok {
				if len(sides[s]) == 0 {
					dirs[s] = b.Dir
				}
				sides[s] = append(sides[s], bp)
			}
		}
		if len(sides[s]) == 0 {
			f.missing++
			if f.reason == "" {
				f.reason = fmt.Sprintf("%s on %s/%s has no profiled boot that counted it", name, cell.Kernel, cell.Config)
			}
			return nil
		}
	}
	a, b := Representative(sides[0]), Representative(sides[1])
	all := FuncDeltas(a, b)
	w := &Why{Funcs: all[:min(len(all), WhyTop)], BootA: dirs[0], BootB: dirs[1]}
	for _, fd := range all[len(w.Funcs):] {
		w.Others++
		w.OthersDelta += fd.Delta
	}
	w.User = c.Delta - kd
	w.Rest = kd - (b.KernelPerOp() - a.KernelPerOp())
	return w
}

// profile reads the profiled boot at dir once; a boot whose profile does
// not read gives none, and the reason is kept for NoWhy.
func (f *whyFinder) profile(dir string) *profiledBoot {
	if p, ok := f.read[dir]; ok {
		return p
	}
	p := &profiledBoot{dir: dir, bench: map[string]stream.BenchProfile{}}
	ps, err := ProfileBoot(dir)
	if err != nil && f.reason == "" {
		f.reason = stream.Printable(err.Error(), 300)
	}
	for _, bp := range ps {
		p.bench[bp.Name] = bp
	}
	f.read[dir] = p
	return p
}
