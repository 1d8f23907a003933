package stats

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"kharness/results/store"
	"kharness/results/stream"
	"kharness/results/wire"
)

// SeedBenchmark is the benchmark the seed post measured: LMbench lat_ctx
// with 2 processes and no working set.
const SeedBenchmark = "CtxSwitch/procs=2/ws=0KiB"

// SeedRow is one cell's lat_ctx 2p/0K in the seed post's terms; each value
// is the median over the cell's ok boots of each boot's median sample.
type SeedRow struct {
	Kernel, Config string
	Boots          int     // ok boots with the benchmark
	CtxPerSec      float64 // context switches per second while it ran (/proc/stat)
	IntrPerSec     float64 // interrupts per second
	Usr, Sys, Idl  float64 // CPU shares, percent
	HopMicros      float64 // one hop: a write, a read and a switch (raw-ns/op)
	SwitchMicros   float64 // the hop less the one-process pipe overhead (ns/op)
	// HopInsns and HopKInsns are the exact instructions of one hop, all
	// and in the kernel, where the boots were counted (0 otherwise).
	HopInsns, HopKInsns float64
}

// FidelityRow compares the Go and C loops of one case in one cell: medians
// over ok boots of each boot's median sample.
type FidelityRow struct {
	Kernel, Config, Case string
	Boots                int
	Go, C                float64 // ns per operation
	// Paired is the median ratio of adjacent samples (Go sample i ÷ C
	// sample i, taken one after the other in the same boot), pooled over
	// boots: drift of the machine cancels out of each ratio. PairedLo and
	// PairedHi are its distribution-free 95% confidence interval (order
	// statistics of the binomial), and Pairs how many ratios there were.
	Paired, PairedLo, PairedHi float64
	Pairs                      int
	// GoInsns, CInsns, GoKInsns and CKInsns are the exact instructions per
	// operation of each loop, in all and in the kernel, where the boots
	// were counted (0 otherwise): medians over boots.
	GoInsns, CInsns, GoKInsns, CKInsns float64
}

// Counted reports whether both loops of r have exact counts.
func (r FidelityRow) Counted() bool { return r.GoKInsns > 0 && r.CKInsns > 0 }

// Ratio returns Go ÷ C.
func (r FidelityRow) Ratio() float64 { return r.Go / r.C }

// loadCellMedians loads the boots of dirs and returns them, under the
// default host guard, with their cellMedians.
func loadCellMedians(dirs []string) (g *HostGuard, boots []*store.BootRecord, cells [][2]string, meds map[[2]string]map[Key]float64, counts map[[2]string]map[Key]int, err error) {
	if boots, err = store.LoadBoots(dirs...); err != nil {
		return nil, nil, nil, nil, nil, err
	}
	g = Guard(boots, DefaultSlowFactor)
	cells, meds, counts, err = cellMedians(g, boots)
	return g, boots, cells, meds, counts, err
}

// cellMedians returns, per cell (kernel, config) of boots, the
// median over ok boots of each benchmark and unit, and how many ok boots
// had each benchmark. Cells are in the order of their first boot.
func cellMedians(g *HostGuard, boots []*store.BootRecord) (cells [][2]string, meds map[[2]string]map[Key]float64, counts map[[2]string]map[Key]int, err error) {
	per := map[[2]string]map[Key][]float64{}
	for _, b := range boots {
		if !b.Status.OK() {
			continue
		}
		c := [2]string{b.Kernel.Label, b.Config.Name}
		if per[c] == nil {
			per[c] = map[Key][]float64{}
			cells = append(cells, c)
		}
		m, _, _, err := g.Medians(b)
		if err != nil {
			return nil, nil, nil, err
		}
		for k, v := range m {
			per[c][k] = append(per[c][k], v)
		}
	}
	meds = map[[2]string]map[Key]float64{}
	counts = map[[2]string]map[Key]int{}
	for c, m := range per {
		meds[c], counts[c] = map[Key]float64{}, map[Key]int{}
		for k, vs := range m {
			counts[c][k] = len(vs)
			meds[c][k] = Median(vs)
		}
	}
	return cells, meds, counts, nil
}

// nsPerOp returns the ns/op median of name (benchfmt tidies ns/op to
// sec/op).
func nsPerOp(m map[Key]float64, name string) (float64, bool) {
	if v, ok := m[Key{name, "sec/op"}]; ok {
		return v * 1e9, true
	}
	v, ok := m[Key{name, "ns/op"}]
	return v, ok
}

// Seed reads the runs dirs and returns the seed table: one row per cell
// that has SeedBenchmark.
func Seed(dirs ...string) ([]SeedRow, error) {
	_, _, cells, meds, counts, err := loadCellMedians(dirs)
	if err != nil {
		return nil, err
	}
	var rows []SeedRow
	for _, c := range cells {
		m := meds[c]
		sw, ok := nsPerOp(m, SeedBenchmark)
		if !ok {
			continue
		}
		raw := m[Key{SeedBenchmark, store.TidyUnit(wire.RawUnit)}] * 1e9 // benchfmt tidies raw-ns/op
		if raw == 0 {
			raw = m[Key{SeedBenchmark, wire.RawUnit}]
		}
		rows = append(rows, SeedRow{Kernel: c[0], Config: c[1], Boots: counts[c][Key{SeedBenchmark, "sec/op"}],
			CtxPerSec: m[Key{SeedBenchmark, "ctxsw/s"}], IntrPerSec: m[Key{SeedBenchmark, "intr/s"}],
			Usr: m[Key{SeedBenchmark, "usr%"}], Sys: m[Key{SeedBenchmark, "sys%"}], Idl: m[Key{SeedBenchmark, "idl%"}],
			HopMicros: raw / 1000, SwitchMicros: sw / 1000,
			HopInsns: m[Key{SeedBenchmark, stream.InsnsUnit}], HopKInsns: m[Key{SeedBenchmark, stream.KernelInsnsUnit}]})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no ok boot in %s has Benchmark%s", strings.Join(dirs, " "), SeedBenchmark)
	}
	return rows, nil
}

// RunAccel returns the accelerator of the ok boots of dirs ("tcg", "kvm"),
// or "mixed" when they differ.
func RunAccel(dirs ...string) (string, error) {
	boots, err := store.LoadBoots(dirs...)
	if err != nil {
		return "", err
	}
	accel := ""
	for _, b := range boots {
		switch {
		case !b.Status.OK():
		case accel == "":
			accel = b.Accel
		case accel != b.Accel:
			return "mixed", nil
		}
	}
	return accel, nil
}

// Fidelity reads the runs dirs and returns, per cell, each case that has
// both "/impl=go" and "/impl=c" results.
func Fidelity(dirs ...string) ([]FidelityRow, error) {
	g, boots, cells, meds, counts, err := loadCellMedians(dirs)
	if err != nil {
		return nil, err
	}
	var rows []FidelityRow
	for _, c := range cells {
		m := meds[c]
		var names []string
		for k := range m {
			if base, ok := strings.CutSuffix(k.Name, wire.ImplGo); ok && (k.Unit == "sec/op" || k.Unit == "ns/op") {
				names = append(names, base)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			g, _ := nsPerOp(m, n+wire.ImplGo)
			cv, ok := nsPerOp(m, n+wire.ImplC)
			if !ok {
				continue
			}
			rows = append(rows, FidelityRow{Kernel: c[0], Config: c[1], Case: n, Go: g, C: cv,
				Boots:   counts[c][Key{n + wire.ImplC, "sec/op"}],
				GoInsns: m[Key{n + wire.ImplGo, stream.InsnsUnit}], CInsns: m[Key{n + wire.ImplC, stream.InsnsUnit}],
				GoKInsns: m[Key{n + wire.ImplGo, stream.KernelInsnsUnit}], CKInsns: m[Key{n + wire.ImplC, stream.KernelInsnsUnit}]})
		}
	}
	if err := pairedRatios(g, boots, rows); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no ok boot in %s has %s and %s results (run configs/fidelity.toml)", strings.Join(dirs, " "), wire.ImplGo, wire.ImplC)
	}
	return rows, nil
}

// pairedRatios fills the rows' Paired ratios from each ok boot's samples:
// each Go sample over the C sample of the line after it, a pair the host
// guard leaves whole.
func pairedRatios(g *HostGuard, boots []*store.BootRecord, rows []FidelityRow) error {
	pooled := map[[3]string][]float64{}
	for _, b := range boots {
		if !b.Status.OK() {
			continue
		}
		lines, keep, _, err := g.guardedLines(b)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.Kernel != b.Kernel.Label || r.Config != b.Config.Name {
				continue
			}
			k := [3]string{r.Kernel, r.Config, r.Case}
			for i := 0; i+1 < len(lines); i++ {
				gl, c := lines[i], lines[i+1]
				if gl.Name != r.Case+wire.ImplGo || c.Name != r.Case+wire.ImplC {
					continue
				}
				if !keep[i] || !keep[i+1] {
					continue
				}
				if gv, cv := lineValue(gl, "sec/op"), lineValue(c, "sec/op"); cv > 0 {
					pooled[k] = append(pooled[k], gv/cv)
				}
			}
		}
	}
	for i, r := range rows {
		if vs := pooled[[3]string{r.Kernel, r.Config, r.Case}]; len(vs) > 0 {
			slices.Sort(vs) // medianCI reads a sorted sample
			rows[i].Paired = Median(vs)
			rows[i].PairedLo, rows[i].PairedHi = medianCI(vs, 0.95)
			rows[i].Pairs = len(vs)
		}
	}
	return nil
}

// medianCI is the distribution-free confidence interval of the median of
// sorted at level conf: the order statistics x(k) and x(n+1-k) for the
// largest k with P(Binomial(n, 1/2) < k) <= (1-conf)/2. With too few
// values for any such k it is the whole range.
func medianCI(sorted []float64, conf float64) (lo, hi float64) {
	n := len(sorted)
	tail := (1 - conf) / 2
	k, cdf := 0, 0.0 // cdf = P(B < k+1) as k grows
	lp, _ := math.Lgamma(float64(n + 1))
	for i := 0; i <= n; i++ {
		a, _ := math.Lgamma(float64(i + 1))
		b, _ := math.Lgamma(float64(n - i + 1))
		cdf += math.Exp(lp - a - b - float64(n)*math.Ln2)
		if cdf > tail {
			break
		}
		k = i + 1
	}
	if k == 0 {
		return sorted[0], sorted[n-1]
	}
	return sorted[k-1], sorted[n-k]
}

// lineValue is line l's value in unit, 0 if it has none.
func lineValue(l store.Line, unit string) float64 {
	for _, v := range l.Values {
		if v.Unit == unit {
			return v.Value
		}
	}
	return 0
}
