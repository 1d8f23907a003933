package bisect

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"kharness/harness"
	"kharness/harness/attribute"
	"kharness/results/stats"
	"kharness/results/store"
	"kharness/results/stream"
)

// TreeVerdict is bisect-run's call on a step against its reference.
type TreeVerdict struct {
	Bad    bool
	Skip   bool    // cannot call either way: too few boots, or too near the threshold
	Ratio  float64 // the step's median over the reference's
	Diff   float64 // the step's count less the reference's (exact metrics)
	P      float64 // Mann-Whitney U p-value; NaN for counts or a single reference number
	Reason string  // how the call was made, for the log line
}

// JudgeTreeStep calls a timed step's per-boot values against the
// reference's, the way compare and bisect call: bad when the step is
// slower with Mann-Whitney U p < alpha and by more than threshold; good
// when its median is slower by at most half the threshold; skip (cannot
// test) between the two, or when slower by more than threshold without
// significance, or with too few boots: on a shared host a number near the
// line is one that load can push across it, and a skip never names a
// wrong commit. Against a single reference number (ref has one value)
// there is nothing to test: bad when the step's median is slower by more
// than threshold.
func JudgeTreeStep(ref, step []float64, alpha, threshold float64) TreeVerdict {
	if len(ref) == 1 {
		r := stats.Median(step) / ref[0]
		return TreeVerdict{Bad: r-1 > threshold, Ratio: r, P: math.NaN(),
			Reason: fmt.Sprintf("one reference number: %+.1f%% against a threshold of %.0f%%, no test", (r-1)*100, threshold*100)}
	}
	call, ratio, p, tooFew := stats.CallSamples("sec/op", ref, step, alpha, threshold)
	v := TreeVerdict{Bad: call == stats.CallRegression, Ratio: ratio, P: p,
		Reason: fmt.Sprintf("×%.3f, p=%.3f (Mann-Whitney U, %d boots against %d), threshold %.0f%%", ratio, p, len(step), len(ref), threshold*100)}
	switch {
	case tooFew:
		v.Skip = true
		v.Reason = fmt.Sprintf("%d boots against %d: too few to call at p < %g (need %d a side)", len(step), len(ref), alpha, stats.NeedPerSide(alpha))
	case !v.Bad && ratio-1 > threshold/2:
		v.Skip = true
		v.Reason += "; slower by more than half the threshold but not called: cannot say (a skip, not a guess)"
	}
	return v
}

// CountThreshold is an exact step's threshold: instructions per
// operation, or a fraction of the reference's count.
type CountThreshold struct {
	Insns float64
	Frac  float64
}

// DefaultCountThreshold is 2 instructions: a kernel's count of an
// operation is the same in every boot to a fraction of an instruction
// (the division of stretches leaves rounding, not noise), and the
// smallest changes that mattered in Debian's history are +8 (pti=on) and
// +40 (prandom_u32_state).
var DefaultCountThreshold = CountThreshold{Insns: 2}

func (t CountThreshold) limit(ref float64) float64 {
	if t.Frac > 0 {
		return t.Frac * ref
	}
	return t.Insns
}

func (t CountThreshold) String() string {
	if t.Frac > 0 {
		return fmt.Sprintf("%g%%", t.Frac*100)
	}
	return fmt.Sprintf("%g insns", t.Insns)
}

// JudgeTreeExact calls an exact step: bad when its count is above the
// reference's by more than threshold (below, with fewer), good otherwise;
// skip when its boots disagree with each other by more than the
// threshold, which a kernel's counts never do unless the operation took
// different paths.
func JudgeTreeExact(ref, step []float64, t CountThreshold, fewer bool) TreeVerdict {
	r, s := stats.Median(ref), stats.Median(step)
	v := TreeVerdict{Ratio: s / r, Diff: s - r, P: math.NaN()}
	lim := t.limit(r)
	if spread(step) > lim || spread(ref) > lim {
		v.Skip = true
		v.Reason = fmt.Sprintf("boots disagree (step spread %.2f, reference spread %.2f) by more than the threshold %s: skip", spread(step), spread(ref), t)
		return v
	}
	worse := v.Diff
	if fewer {
		worse = -worse
	}
	v.Bad = worse > lim
	dir := "more"
	if fewer {
		dir = "fewer"
	}
	v.Reason = fmt.Sprintf("%+.2f (%+.1f%%), bad when %s by more than %s", v.Diff, (v.Ratio-1)*100, dir, t)
	return v
}

// Reference is what bisect-run compares a step with, from a stored run.
type Reference struct {
	Values []float64             // per ok boot: the count, or the median sample in ns/op
	Accel  string                // what those boots ran under
	Kernel *harness.KernelConfig // the kernel of the cell they came from
	Dir    string
	Cell   string
}

// ReferenceValues reads a reference from a stored run: bench's per-boot
// values in unit (insns/op, kinsns/op, or sec/op as ns/op) in its one
// cell that has it (or cell), the accelerator they ran under and the
// cell's kernel.
func ReferenceValues(dir, cell, bench, unit string) (*Reference, error) {
	boots, err := store.LoadBoots(dir)
	if err != nil {
		return nil, err
	}
	re := regexp.MustCompile("^" + regexp.QuoteMeta(bench) + "$")
	accel := map[string]string{}
	for _, b := range boots {
		if b.Status.OK() && (cell == "" || b.Cell == cell) && accel[b.Cell] == "" {
			accel[b.Cell] = b.Accel
		}
	}
	ref := &Reference{Dir: dir}
	var found []string
	g := stats.Guard(boots, stats.DefaultSlowFactor) // loaded and guarded once, read per cell
	for _, c := range slices.Sorted(maps.Keys(accel)) {
		v, _, _, err := g.Samples(func(r *store.BootRecord) bool { return r.Cell == c }, re, unit, stats.StatMedian)
		if errors.Is(err, stats.ErrNoBenchmark) || (err == nil && len(v) == 0) {
			continue
		}
		if err != nil {
			return nil, err
		}
		found, ref.Values, ref.Cell, ref.Accel = append(found, c), v, c, accel[c]
	}
	what := bench + " in " + unit
	if unit == "sec/op" {
		what = bench + " in ns/op"
	}
	switch {
	case len(found) == 0 && stream.ExactUnit(unit):
		return nil, fmt.Errorf("-ref %s: no ok boot with %s (a run under KVM, or with insns off, has no counts: use -metric time)", dir, what)
	case len(found) == 0 && cell != "":
		return nil, fmt.Errorf("-ref %s: no ok boot with %s in cell %s", dir, what, cell)
	case len(found) == 0:
		return nil, fmt.Errorf("-ref %s: no ok boot with %s", dir, what)
	case len(found) > 1:
		return nil, fmt.Errorf("-ref %s has %s in several cells (%s): choose one with -ref-cell", dir, bench, strings.Join(found, ", "))
	}
	if !stream.ExactUnit(unit) {
		for i := range ref.Values {
			ref.Values[i] *= 1e9
		}
	}
	ref.Kernel, err = cellKernel(dir, ref.Cell)
	return ref, err
}

// cellKernel is the [[kernel]] of a stored run's cell, from its config.
func cellKernel(dir, cell string) (*harness.KernelConfig, error) {
	cfg, err := harness.LoadConfig(filepath.Join(dir, store.ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("-ref %s: %w", dir, err)
	}
	for _, k := range cfg.Kernels {
		for _, c := range cfg.Configs {
			if store.CellName(k.Name, c.Name) == cell {
				return &k, nil
			}
		}
	}
	return nil, fmt.Errorf("-ref %s: cell %s is in none of its config's kernels", dir, cell)
}

// TreeAttribution is the functions that account for a counted step's
// difference from its reference: bench's kernel instructions per
// operation by function in both runs' profiled boots (Attribute's
// pairing). Each run must have been counted in profile mode.
func TreeAttribution(refDir, refCell string, stepDirs []string, bench string) (*attribute.BenchAttribution, error) {
	side := func(dirs []string, cell string) ([]stream.BenchProfile, error) {
		boots, err := store.LoadBoots(dirs...)
		if err != nil {
			return nil, err
		}
		ps, err := attribute.Profiles(boots, cell)
		if err != nil {
			return nil, err
		}
		return ps[bench], nil
	}
	pa, err := side([]string{refDir}, refCell)
	if err != nil {
		return nil, fmt.Errorf("the reference's profile: %w", err)
	}
	pb, err := side(stepDirs, store.CellName(treeKernelName, treeConfigName))
	if err != nil {
		return nil, fmt.Errorf("the step's profile: %w", err)
	}
	if len(pa) == 0 || len(pb) == 0 {
		return nil, fmt.Errorf("no profile of %s (reference %d boots, step %d): a run counted without profile mode", bench, len(pa), len(pb))
	}
	a := attribute.PairProfiles(bench, pa, pb)
	return &a, nil
}
