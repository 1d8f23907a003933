package stats

import (
	"cmp"
	"errors"
	"fmt"
	"kharness/results/store"
	"regexp"
	"slices"
	"sort"
)

// A BootStat reduces one boot's samples of a benchmark to its number.
type BootStat string

const (
	// StatMedian is the median of a boot's samples: the default.
	StatMedian BootStat = "median"
	// StatMin is the fastest sample of a boot: on a shared host,
	// interference only ever adds time, so the minimum is the steadier
	// figure when neighbours come and go within a boot.
	StatMin BootStat = "min"
)

// ParseBootStat checks a -stat flag's value.
func ParseBootStat(s string) (BootStat, error) {
	switch BootStat(s) {
	case StatMedian, StatMin:
		return BootStat(s), nil
	}
	return "", fmt.Errorf("%q: want median or min", s)
}

// fn is the statistic itself; the zero BootStat is the median.
func (s BootStat) fn() func([]float64) float64 {
	if s == StatMin {
		return func(vs []float64) float64 { return slices.Min(vs) }
	}
	return Median
}

// ErrNoBenchmark means no boot read has the benchmark and unit asked for.
var ErrNoBenchmark = errors.New("no benchmark")

// BootSamples returns the per-boot medians (or stat) of one benchmark across every ok
// boot in dirs: the boot is the unit of replication, so these are the
// numbers a test between two kernels compares. The benchmark is the first,
// in name order, whose name matches re and whose unit is unit (e.g.
// "sec/op"); its name is returned too. Failed boots are counted. keep, when
// not nil, selects the boots (e.g. one cell's); values are in boot order.
// The boots of every dir, kept or not, are guarded together with
// slowFactor (see HostGuard; 0 means DefaultSlowFactor, negative keeps
// every sample): a boot whose samples were all set aside gives no value.
func BootSamples(dirs []string, keep func(*store.BootRecord) bool, re *regexp.Regexp, unit string, stat BootStat, slowFactor float64) (vals []float64, name string, failed int, err error) {
	return BootSamplesCorrected(dirs, keep, re, unit, stat, slowFactor, false)
}

// BootSamplesCorrected is BootSamples whose guard, when correct is set,
// scales each timed sample by its cell's reference level instead of
// setting slow ones aside (HostGuard.Correct). BootSamples sets aside:
// bisect boots a kernel more instead of correcting it.
func BootSamplesCorrected(dirs []string, keep func(*store.BootRecord) bool, re *regexp.Regexp, unit string, stat BootStat, slowFactor float64, correct bool) (vals []float64, name string, failed int, err error) {
	boots, err := store.LoadBoots(dirs...)
	if err != nil {
		return nil, "", 0, err
	}
	g := Guard(boots, cmp.Or(slowFactor, DefaultSlowFactor))
	g.Correct = correct
	vals, name, failed, err = g.Samples(keep, re, unit, stat)
	if err != nil && errors.Is(err, ErrNoBenchmark) {
		err = fmt.Errorf("%w in %v", err, dirs)
	}
	return vals, name, failed, err
}

// Samples is BootSamples over the boots g guards, already loaded: a
// caller that reads several cells or benchmarks of one run loads it and
// computes the guard's levels once, and each boot's boot.bench is read
// once however many calls read it.
func (g *HostGuard) Samples(keep func(*store.BootRecord) bool, re *regexp.Regexp, unit string, stat BootStat) (vals []float64, name string, failed int, err error) {
	var keys []Key
	perBoot := map[Key][]float64{}
	seen := false // a kept ok boot has the benchmark, guarded or not
	for _, b := range g.boots {
		if keep != nil && !keep(b) {
			continue
		}
		if !b.Status.OK() {
			failed++
			continue
		}
		meds, order, _, err := g.stats(b, stat.fn())
		if err != nil {
			return nil, "", 0, err
		}
		if !seen {
			seen, err = g.hasBenchmark(b, re)
			if err != nil {
				return nil, "", 0, err
			}
		}
		for _, k := range order {
			if k.Unit != unit || !re.MatchString(k.Name) {
				continue
			}
			if _, ok := perBoot[k]; !ok {
				keys = append(keys, k)
			}
			perBoot[k] = append(perBoot[k], meds[k])
		}
	}
	if len(keys) == 0 {
		if failed > 0 || seen {
			return nil, "", failed, nil
		}
		return nil, "", 0, fmt.Errorf("%w matching %q with unit %s", ErrNoBenchmark, re, unit)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Name < keys[j].Name })
	return perBoot[keys[0]], keys[0].Name, failed, nil
}

// hasBenchmark reports whether ok boot b has a line of a benchmark
// matching re, whether or not g sets it aside.
func (g *HostGuard) hasBenchmark(b *store.BootRecord, re *regexp.Regexp) (bool, error) {
	bench, err := g.read(b)
	if err != nil {
		return false, err
	}
	for _, l := range bench.Lines {
		if re.MatchString(l.Name) {
			return true, nil
		}
	}
	return false, nil
}
