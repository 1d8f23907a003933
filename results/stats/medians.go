package stats

import (
	"fmt"
	"kharness/results/store"
	"math"
	"slices"
	"strings"
)

// Medians reads ok boot b's boot.bench and returns the median of each
// benchmark and unit over the samples g keeps, the keys in the order they
// first appear, and warnings for lines that did not parse.
func (g *HostGuard) Medians(b *store.BootRecord) (map[Key]float64, []Key, []string, error) {
	return g.stats(b, Median)
}

// stats is medians with stat in place of the median.
func (g *HostGuard) stats(b *store.BootRecord, stat func([]float64) float64) (map[Key]float64, []Key, []string, error) {
	samples, order, warns, err := g.samples(b)
	if err != nil {
		return nil, nil, nil, err
	}
	meds := make(map[Key]float64, len(samples))
	for k, vs := range samples {
		meds[k] = stat(vs)
	}
	return meds, order, warns, nil
}

// samples returns every sample of an ok boot, per benchmark and unit in
// the order the guest printed them, the keys in order of first
// appearance, and the lines that did not parse. Samples that g sets aside
// are left out (see kept), and so is the reference itself.
func (g *HostGuard) samples(b *store.BootRecord) (map[Key][]float64, []Key, []string, error) {
	lines, keep, warns, err := g.guardedLines(b)
	if err != nil {
		return nil, nil, nil, err
	}
	samples := make(map[Key][]float64)
	var order []Key
	for i, l := range lines {
		if !keep[i] {
			continue
		}
		scale, err := g.scale(b, l)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, v := range l.Values {
			k := Key{l.Name, v.Unit}
			if _, ok := samples[k]; !ok {
				order = append(order, k)
			}
			x := v.Value
			if TimedUnit(v.Unit) {
				x *= scale
			}
			samples[k] = append(samples[k], x)
		}
	}
	return samples, order, warns, nil
}

// Median is the median of vs, NaN for none; vs is left as it was. The one
// median of the project: compare, the host guard, bisect and bisect-run
// all take theirs from here.
func Median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(vs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// A MismatchError says that boots to be compared ran under different
// setups: numbers from KVM and TCG, or from two QEMU versions or guest
// CPUs, do not compare.
type MismatchError struct {
	Diffs []Mismatch
}

// Mismatch is one field in which two ok boots differ.
type Mismatch struct {
	Field  string // "accel", "qemu_version" or "guest_cpu"
	Value1 string
	Boot1  string // the committed directory of the boot with Value1
	Value2 string
	Boot2  string
}

func (e *MismatchError) Error() string {
	var parts []string
	for _, d := range e.Diffs {
		parts = append(parts, fmt.Sprintf("%s %q (%s) vs %q (%s)", d.Field, d.Value1, d.Boot1, d.Value2, d.Boot2))
	}
	return "comparing runs: boots differ in " + strings.Join(parts, "; ") + "; force to compare anyway"
}

// checkSameSetup returns a *MismatchError if the ok boots differ in
// accelerator, QEMU version or guest CPU. Empty values are not compared.
func checkSameSetup(boots []*store.BootRecord) error {
	fields := []struct {
		name string
		get  func(*store.BootRecord) string
	}{
		{"accel", func(b *store.BootRecord) string { return b.Accel }},
		{"qemu_version", func(b *store.BootRecord) string { return b.QEMUVersion }},
		// A boot whose config chose its CPU model (an axis of the matrix)
		// is compared across models: the config asked for it.
		{"guest_cpu", func(b *store.BootRecord) string {
			if b.Config.CPU != "" {
				return ""
			}
			return b.GuestCPU
		}},
	}
	var e MismatchError
	for _, f := range fields {
		var first *store.BootRecord
		for _, b := range boots {
			if !b.Status.OK() || f.get(b) == "" {
				continue
			}
			if first == nil {
				first = b
			} else if f.get(b) != f.get(first) {
				e.Diffs = append(e.Diffs, Mismatch{f.name, f.get(first), first.Dir, f.get(b), b.Dir})
				break
			}
		}
	}
	if len(e.Diffs) > 0 {
		return &e
	}
	return nil
}
