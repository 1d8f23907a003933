package stats

import (
	"kharness/results/store"
	"kharness/results/stream"
	"path/filepath"
	"slices"
	"strconv"
)

// note records notes of the table and returns their numbers.
func (t *Table) note(notes ...string) []int {
	var ns []int
	for _, n := range notes {
		i := slices.Index(t.Notes, n)
		if i < 0 {
			t.Notes = append(t.Notes, n)
			i = len(t.Notes) - 1
		}
		ns = AppendNew(ns, i+1)
	}
	return ns
}

// noteSetup records the setup of ok boot b in the table's footer lists.
func (t *Table) noteSetup(b *store.BootRecord) {
	t.Accel = AppendNew(t.Accel, b.Accel)
	t.QEMUVersion = AppendNew(t.QEMUVersion, b.QEMUVersion)
	t.GuestCPU = AppendNew(t.GuestCPU, b.GuestCPU)
	t.HostCPU = AppendNew(t.HostCPU, b.HostCPU)
	t.Jobs = AppendNew(t.Jobs, b.Jobs)
}

// noteBench records what ok boot b's boot.bench says for the footer: its
// failed samples, and how its switching benchmarks were counted
// (wire.InsnsSchedKey; the count's policy is not the timed samples').
func (t *Table) noteBench(b *store.BootRecord, bench *store.Bench) {
	if len(bench.Failed) > 0 && t.FailedSamples == 0 {
		t.FailedSample = b.Cell + ": " + stream.Printable(bench.Failed[0], 300)
	}
	t.FailedSamples += len(bench.Failed)
	if bench.InsnsSched != "" {
		t.InsnsSched = AppendNew(t.InsnsSched, bench.InsnsSched)
	}
	if bench.InsnsClock != "" {
		t.InsnsClock = AppendNew(t.InsnsClock, bench.InsnsClock)
	}
	if len(bench.NoCount) > 0 && t.NoCounts == 0 {
		t.NoCount = b.Cell + " boot " + strconv.Itoa(b.Boot) + ": " + stream.Printable(bench.NoCount[0], 300)
	}
	t.NoCounts += len(bench.NoCount)
}

// commonFailure returns the boot with the most common failure reason in
// failed, the first in boot order among equals; nil if there is none.
func commonFailure(failed []*store.BootRecord) *store.BootRecord {
	count := make(map[string]int)
	var best *store.BootRecord
	for _, b := range failed {
		r := store.FailReason(b)
		count[r]++
		if best == nil || count[r] > count[store.FailReason(best)] {
			best = b
		}
	}
	return best
}

func errorTexts(errs []error) []string {
	var s []string
	for _, e := range errs {
		s = append(s, e.Error())
	}
	return s
}

// axisOrder returns the kernels and configs in the order the runs' run.json
// list them, so that the first column is the one the user put first.
// byRun relabels boots for the run axis (kernel "kernel/config", config
// the run's label) and returns the run labels in the order of dirs: each
// directory's base name, or the path as given where base names repeat.
func byRun(boots []*store.BootRecord, dirs []string) []string {
	labels := make([]string, len(dirs))
	index := map[string]int{}
	seen := map[string]int{}
	for i, d := range dirs {
		labels[i] = filepath.Base(filepath.Clean(d))
		seen[labels[i]]++
		if abs, err := filepath.Abs(d); err == nil {
			index[abs] = i
		}
	}
	for i, d := range dirs {
		if seen[labels[i]] > 1 {
			labels[i] = d
		}
	}
	for _, b := range boots {
		run := runDir(b)
		label := run
		if abs, err := filepath.Abs(run); err == nil {
			if i, ok := index[abs]; ok {
				label = labels[i]
			}
		}
		b.Kernel.Label, b.Config.Name = b.Kernel.Label+"/"+b.Config.Name, label
	}
	return labels
}

func axisOrder(dirs []string) (kernels, configs []string) {
	for _, d := range dirs {
		r, err := store.ReadRunDir(d)
		if err != nil {
			continue // a run without run.json still compares, in boot order
		}
		for _, k := range r.Kernels {
			kernels = AppendNew(kernels, k.Label)
		}
		for _, c := range r.Configs {
			configs = AppendNew(configs, c.Name)
		}
	}
	return kernels, configs
}

// AppendNew appends v to s unless s holds it already: the order of first
// appearance, which the axes and setup lists of a table follow.
func AppendNew[T comparable](s []T, v T) []T {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// acrossRuns withdraws the call of a timed cell under TCG whose boots and
// its base's came from different runs, with none shared. Within a run the
// cells' boots alternate and see the same host; between runs taken
// minutes or nights apart the host drifts, and the boots of one run are
// not independent of each other: two identical runs of the default
// matrix compared on time called 4 of 20 rows. Exact counts are called
// across runs as within one, and a user who wants time across kernels
// puts them in one run.
func (t *Table) acrossRuns(c *Cell, unit string, base, cd *cellData) {
	if stream.ExactUnit(unit) || CounterUnit(unit) || c.Call == CallNone || !base.tcg || !cd.tcg {
		return
	}
	for _, r := range cd.runs {
		if slices.Contains(base.runs, r) {
			return
		}
	}
	c.Call = CallNone
	c.PNotes = t.note("time under TCG across separate runs is shown, not called: the host drifts between runs, and a run's boots are not independent of each other (two identical runs called 4 of 20 time rows); put the kernels in one run to compare their time, or read the exact rows")
}

// addRun notes the run and accelerator of an ok boot of the cell.
func (cd *cellData) addRun(b *store.BootRecord) {
	cd.runs = AppendNew(cd.runs, runDir(b))
	cd.tcg = cd.tcg || b.Accel == "tcg"
}

// runDir is the run directory of a boot attempt's record
// (RUN/cells/<cell>/boot-NN-aK).
func runDir(b *store.BootRecord) string {
	return filepath.Dir(filepath.Dir(filepath.Dir(b.Dir)))
}
