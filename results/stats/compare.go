package stats

import (
	"cmp"
	"fmt"
	"kharness/results/store"
	"kharness/results/stream"
	"math"
	"strings"

	"golang.org/x/perf/benchmath"
)

// CompareOptions configures Compare.
type CompareOptions struct {
	// Column is the axis of the table's columns: "config" (the default)
	// or "kernel". The other axis goes in the rows.
	Column string
	// Force compares boots even if their accelerator, QEMU version or
	// guest CPU differ.
	Force bool
	// Confidence is the level of the confidence intervals, in (0, 1);
	// 0 means 0.95.
	Confidence float64
	// Alpha is the significance level of the calls, in (0, 1): a cell is
	// called a regression or an improvement only if the Mann-Whitney U
	// p-value against the first column is below it. 0 means 0.05.
	Alpha float64
	// Threshold is the smallest change of the median, as a fraction of
	// the first column's, that is called: 0.02 calls changes of more than
	// 2%. 0 means 0.02; a negative value means 0, calling every
	// significant change however small.
	Threshold float64
	// HostCorrect scales each timed sample to the host's fast state
	// instead of setting host-slow samples aside (HostGuard.Correct): no
	// boot is lost, at the price of trusting the reference to slow down
	// as the benchmark does. Off by default; `mitigations` turns it on,
	// where one default cell is compared with every config.
	HostCorrect bool
	// Detect, when positive, asks for a plan in the footer: the boots a
	// side each timed row needs to call a change of this fraction, from
	// the spread between boots measured (BootsToDetect).
	Detect float64
	// ExactThreshold is the smallest change of an exact count (see
	// ExactUnit) that is called, as a fraction; 0 means
	// DefaultExactThreshold, a negative value 0.
	ExactThreshold float64
	// SlowFactor is the HostGuard factor: samples whose host reference
	// ran more than SlowFactor times its typical level are set aside. 0
	// means DefaultSlowFactor; a negative value keeps every sample.
	SlowFactor float64
}

// Call is the verdict on a cell against the first column of its row.
//
// Whether a change is for the worse depends on the unit: for a rate,
// whose unit is per unit of time (B/s, which MB/s tidies to, ops/s,
// frames/sec), higher is better; for every other unit (sec/op, B/op,
// allocs/op, cycles/op, ...) lower is better. benchunit classes units by
// their scale only, not by direction, so the direction comes from the
// unit's name: see higherIsBetter.
type Call string

const (
	// CallNone: no call, in the first column or where either side has no boots.
	CallNone Call = ""
	// CallSame: no significant change, a change within the threshold, or
	// too few boots to tell.
	CallSame Call = "~"
	// CallRegression: significantly worse by more than the threshold.
	CallRegression Call = "regression"
	// CallImprovement: significantly better by more than the threshold.
	CallImprovement Call = "improvement"
)

// Table is the comparison of one or more runs: one row for each benchmark,
// unit and value of the row axis, one cell for each value of the column
// axis. WriteText prints it.
type Table struct {
	Column     string   // the column axis: "config" or "kernel"
	Row        string   // the row axis, the other one
	Columns    []string // values of the column axis; the first is the baseline of ratios
	Rows       []Row
	Confidence float64
	Alpha      float64 // significance level of the calls
	Threshold  float64 // smallest change called, as a fraction; 0.02 is 2%
	Detect     float64 // the change the footer plans boots for; 0 for no plan
	// ExactThreshold is the smallest change of an exact count called.
	ExactThreshold float64
	Exact          bool // some row has an exact unit

	// Distinct values among the ok boots compared (InsnsSched: see noteBench).
	Accel, QEMUVersion, GuestCPU, HostCPU, InsnsSched, InsnsClock []string
	Jobs                                                          []int

	Guard string // what the HostGuard set aside, if anything
	// FailedSamples counts samples the guest could give no number
	// (a subtracted overhead not below its total); FailedSample is the
	// first, with its reason.
	FailedSamples int
	FailedSample  string
	// NoCounts counts the counted benchmarks of boots that have no exact
	// count (their stretches gave no one answer); NoCount is the first,
	// with its reason.
	NoCounts int
	NoCount  string
	Notes    []string // statistical caveats, which cells refer to by number from 1
	Warnings []string // directories skipped and lines that did not parse
	// NoWhy, when not empty, says why some called exact cells have no Why
	// and how to get one.
	NoWhy string
}

// Row is one row of a Table.
type Row struct {
	Benchmark string // as in boot.bench, without the "Benchmark" prefix
	Unit      string // tidied, e.g. "sec/op"
	Key       string // the value of the row axis: a kernel label or a config name
	Cells     []Cell // one for each of Table.Columns
}

// Cell is one kernel and config's summary of one benchmark: the median of
// the per-boot medians with its confidence interval.
type Cell struct {
	Kernel, Config string
	Boots          int          // ok boots that reported the benchmark; 0 if none
	OKBoots        int          // ok boots in the kernel and config's cell, with the benchmark or not
	Failed         int          // failed attempts in the kernel and config's cell
	Status         store.Status // the status of the most common failure
	Reason         string       // the most common failure, "status: reason"
	Center, Lo, Hi float64      // median over boots and its confidence interval
	Compared       bool         // compared with the first column: Ratio, P, Delta and Call hold its outcome
	Ratio          float64      // Center over the first column's (0 for a count of 0); valid if Compared
	P              float64      // Mann-Whitney U p-value against the first column; valid if Compared and the unit is not exact (NaN then)
	Delta          float64      // for an exact unit: Center minus the first column's
	Call           Call         // the verdict against the first column; CallNone if not Compared
	Spread         float64      // relative spread of the per-boot values (relSpread; for an exact unit exactSpread); NaN with fewer than 3 boots (exact: 2)

	// The notes of the table (Table.Notes, numbered from 1) that the
	// cell's interval, its p-value and its failures refer to.
	CINotes, PNotes, FailNotes []int

	// Why names the kernel functions behind a called exact change, from
	// the profiled boots of both cells; nil otherwise (see Table.NoWhy).
	Why *Why
}

// Key is a benchmark and unit.
type Key struct{ Name, Unit string }

// cellData is what the boots of one kernel and config hold.
type cellData struct {
	perBoot map[Key][]float64 // per-boot medians
	ok      int
	failed  []*store.BootRecord
	runs    []string // the run directories its ok boots came from
	tcg     bool     // some ok boot ran under TCG
}

// Compare loads the boots of the run directories dirs, merged as one run,
// and tabulates them. The boot is the unit of replication: each ok boot
// gives one median per benchmark and unit, and a cell summarises those
// medians over its boots with a confidence interval. Compare fails with a
// *MismatchError if the ok boots ran under different accelerators, QEMU
// versions or guest CPUs, unless opt.Force is set.
func Compare(dirs []string, opt CompareOptions) (*Table, error) {
	t, err := newTable(opt)
	if err != nil {
		return nil, err
	}
	boots, warns, err := store.LoadWithWarnings(dirs)
	if err != nil {
		return nil, err
	}
	t.Warnings = warns
	if len(boots) == 0 {
		return nil, noBoots(dirs, warns)
	}
	if err := checkSameSetup(boots); err != nil && !opt.Force {
		return nil, err
	}
	g := Guard(boots, cmp.Or(opt.SlowFactor, DefaultSlowFactor))
	g.Correct = opt.HostCorrect
	st, err := g.Stats()
	if err != nil {
		return nil, err
	}
	if st.SetAside > 0 || ((st.Factor <= 0 || st.Correct) && st.Samples > 0) {
		t.Guard = st.String()
	}
	kernels, configs := axisOrder(dirs)
	if t.Column == "run" {
		// Before/after: each run directory is a column and each kernel and
		// config a row; a cell's Kernel holds "kernel/config", its Config
		// the run.
		kernels, configs = nil, byRun(boots, dirs)
	}
	cells := make(map[[2]string]*cellData)
	var keys []Key
	for _, b := range boots {
		kernels, configs = AppendNew(kernels, b.Kernel.Label), AppendNew(configs, b.Config.Name)
		id := [2]string{b.Kernel.Label, b.Config.Name}
		if cells[id] == nil {
			cells[id] = &cellData{perBoot: make(map[Key][]float64)}
		}
		if keys, err = t.add(g, cells[id], b, keys); err != nil {
			return nil, err
		}
	}
	keys = exactFirst(keys)
	if t.Column == "kernel" {
		t.fill(cells, keys, configs, kernels)
	} else {
		t.fill(cells, keys, kernels, configs)
	}
	t.attribute(boots)
	return t, nil
}

// newTable is an empty Table with opt's axes and levels, checked.
func newTable(opt CompareOptions) (*Table, error) {
	t := &Table{Column: opt.Column, Row: "kernel", Confidence: opt.Confidence}
	switch t.Column {
	case "", "config":
		t.Column = "config"
	case "kernel":
		t.Row = "config"
	case "run":
		t.Row = "kernel/config"
	default:
		return nil, fmt.Errorf("comparing runs: column axis %q is not \"config\", \"kernel\" or \"run\"", opt.Column)
	}
	if t.Confidence == 0 {
		t.Confidence = 0.95
	}
	if t.Confidence <= 0 || t.Confidence >= 1 {
		return nil, fmt.Errorf("comparing runs: confidence %v is not in (0, 1)", opt.Confidence)
	}
	t.Alpha, t.Threshold = cmp.Or(opt.Alpha, 0.05), cmp.Or(opt.Threshold, 0.02)
	t.Detect = max(opt.Detect, 0)
	if !(t.Alpha > 0 && t.Alpha < 1) {
		return nil, fmt.Errorf("comparing runs: alpha %v is not in (0, 1)", opt.Alpha)
	}
	if math.IsNaN(t.Threshold) || math.IsInf(t.Threshold, 0) {
		return nil, fmt.Errorf("comparing runs: threshold %v is not a number", opt.Threshold)
	}
	t.Threshold = max(t.Threshold, 0)
	t.ExactThreshold = max(cmp.Or(opt.ExactThreshold, DefaultExactThreshold), 0)
	return t, nil
}

// noBoots says why dirs gave nothing to compare: up to five of the
// reasons boots were skipped.
func noBoots(dirs, warns []string) error {
	why := ""
	for i, w := range warns {
		if i == 5 {
			why += fmt.Sprintf("\n  ... and %d more", len(warns)-5)
			break
		}
		why += "\n  " + stream.Printable(w, 300)
	}
	return fmt.Errorf("comparing %s: no committed boots%s", strings.Join(dirs, ", "), why)
}

// add adds boot b to cd and returns keys with the benchmarks it adds.
func (t *Table) add(g *HostGuard, cd *cellData, b *store.BootRecord, keys []Key) ([]Key, error) {
	if !b.Status.OK() {
		cd.failed = append(cd.failed, b)
		return keys, nil
	}
	cd.ok++
	cd.addRun(b)
	t.noteSetup(b)
	meds, order, warns, err := g.Medians(b)
	if err != nil {
		return nil, err
	}
	t.Warnings = append(t.Warnings, warns...)
	bench, err := g.read(b)
	if err != nil {
		return nil, err
	}
	t.noteBench(b, bench)
	for _, k := range order {
		cd.perBoot[k] = append(cd.perBoot[k], meds[k])
		keys = AppendNew(keys, k)
	}
	return keys, nil
}

// fill makes the table's rows: for each benchmark, one row a value of the
// row axis, one cell a value of the column axis.
func (t *Table) fill(cells map[[2]string]*cellData, keys []Key, rows, cols []string) {
	if len(keys) == 0 {
		keys = []Key{{Name: "-"}} // so that failed cells still show
	}
	t.Columns = cols
	for _, k := range keys {
		for _, rv := range rows {
			row := Row{Benchmark: k.Name, Unit: k.Unit, Key: rv}
			var base *benchmath.Sample
			var baseData *cellData
			for i, cv := range cols {
				kernel, config := rv, cv
				if t.Column == "kernel" {
					kernel, config = cv, rv
				}
				cd := cells[[2]string{kernel, config}]
				c, s := t.summarise(cd, k)
				c.Kernel, c.Config = kernel, config
				if i == 0 {
					base, baseData = s, cd
				} else if base != nil && s != nil && row.Cells[0].Center != 0 {
					t.compare(&c, k.Unit, base, s, row.Cells[0].Center)
					t.acrossRuns(&c, k.Unit, baseData, cd)
				}
				row.Cells = append(row.Cells, c)
			}
			t.Rows = append(t.Rows, row)
		}
	}
}

// Regressions returns the number of cells called regressions.
func (t *Table) Regressions() int {
	n := 0
	for _, r := range t.Rows {
		for _, c := range r.Cells {
			if c.Call == CallRegression {
				n++
			}
		}
	}
	return n
}
