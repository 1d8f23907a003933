package harness

import (
	"context"
	"fmt"
	"math"
	"sort"

	"kharness/results/stats"
	"kharness/results/store"
	"kharness/results/stream"
)

// Decision is how one comparison ended under UntilDecided.
type Decision struct {
	Benchmark, Unit, Row, Column string // the compared cell: row key and column value
	Base                         string // the baseline column value
	Outcome                      string // "regression", "improvement", "within threshold", "same count" or "counts spread" (exact units), "beyond the cap" or "undecided at cap"; "decided by count" (a timed row whose count decides)
	Ratio, P                     float64
	Boots, BaseBoots             int
	// Needed is the boots a side the two cells' spread needs to call a
	// change of the threshold (stats.BootsToDetect); 0 before 3 boots.
	Needed int
}

func (d Decision) String() string {
	plan := ""
	if d.Needed > 0 {
		plan = fmt.Sprintf("; this spread needs %d a side for the threshold", d.Needed)
	}
	return fmt.Sprintf("%s %s %s: %s vs %s: %s (×%.3f p=%.3f, %d vs %d boots%s)",
		d.Benchmark, d.Unit, d.Row, d.Column, d.Base, d.Outcome, d.Ratio, d.P, d.Boots, d.BaseBoots, plan)
}

// within reports whether the cell's ratio to base is clearly inside the
// threshold: the whole interval of ratios the two cells' intervals allow
// lies in [1-threshold, 1+threshold].
func within(c, base stats.Cell, threshold float64) bool {
	if base.Lo <= 0 || base.Hi <= 0 || c.Lo <= 0 {
		return false
	}
	return c.Lo/base.Hi >= 1-threshold && c.Hi/base.Lo <= 1+threshold
}

// decisions judges every comparison of the table; the second result holds
// the cells (kernel, config) that need another boot.
//
// The plan: once both cells have 3 boots, a comparison whose spread needs
// more boots a side than the cap to call a change of the threshold
// (stats.BootsToDetect) is "beyond the cap" and gets no more: boots
// that cannot settle it are better spent on one that can.
//
// Under TCG the exact count decides: a timed comparison of a benchmark
// whose row has an exact count in the same cells is "decided by count"
// and gets no boots of its own, unless decideTime asks for time too (its
// calls are still made and shown).
func decisions(t *stats.Table, maxBoots int, decideTime bool) ([]Decision, map[[2]string]bool) {
	var out []Decision
	more := map[[2]string]bool{}
	counted := countedCells(t)
	for _, r := range t.Rows {
		base := r.Cells[0]
		for i, c := range r.Cells[1:] {
			if c.Boots == 0 || base.Boots == 0 {
				continue
			}
			d := Decision{Benchmark: r.Benchmark, Unit: r.Unit, Row: r.Key, Column: t.Columns[i+1], Base: t.Columns[0],
				Ratio: c.Ratio, P: c.P, Boots: c.Boots, BaseBoots: base.Boots}
			if !decideTime && !stream.ExactUnit(r.Unit) && counted[[3]string{r.Benchmark, r.Key, d.Column}] {
				d.Outcome = "decided by count"
				out = append(out, d)
				continue
			}
			if spread := max(c.Spread, base.Spread); !stream.ExactUnit(r.Unit) && !math.IsNaN(spread) { // 3 boots or more a side
				d.Needed = stats.BootsToDetect(spread, t.Threshold, t.Alpha)
			}
			switch {
			case c.Call == stats.CallRegression || c.Call == stats.CallImprovement:
				d.Outcome = string(c.Call)
			case stream.ExactUnit(r.Unit) && c.Boots >= 2 && base.Boots >= 2:
				// More boots would not change an exact call: counts that
				// agree boot to boot agree again, and counts that spread
				// (a scheduler path that depends on guest time) spread
				// again.
				d.Outcome = "same count"
				if c.Hi-c.Lo > 1e-3*c.Center || base.Hi-base.Lo > 1e-3*base.Center {
					d.Outcome = "counts spread"
				}
			case within(c, base, t.Threshold):
				d.Outcome = "within threshold"
			case c.Boots >= maxBoots && base.Boots >= maxBoots:
				d.Outcome = "undecided at cap"
			case d.Needed > maxBoots:
				d.Outcome = "beyond the cap"
			default:
				d.Outcome = "undecided"
				if c.Boots < maxBoots {
					more[[2]string{c.Kernel, c.Config}] = true
				}
				if base.Boots < maxBoots {
					more[[2]string{base.Kernel, base.Config}] = true
				}
			}
			out = append(out, d)
		}
	}
	return out, more
}

// countedCells is the benchmark, row key and column of every exact cell
// with a count on both sides.
func countedCells(t *stats.Table) map[[3]string]bool {
	m := map[[3]string]bool{}
	for _, r := range t.Rows {
		if !stream.ExactUnit(r.Unit) || r.Cells[0].Boots == 0 {
			continue
		}
		for i, c := range r.Cells[1:] {
			if c.Boots > 0 {
				m[[3]string{r.Benchmark, r.Key, t.Columns[i+1]}] = true
			}
		}
	}
	return m
}

// untilDecided adds one boot at a time to each cell an open comparison
// needs, re-judging after every round, until nothing is open or the cap is
// reached.
func (r *runner) untilDecided(ctx context.Context) error {
	opt, rec, kerns, sum := r.opt, r.rec, r.kerns, r.sum
	cfg, p := opt.Config, opt.Progress
	maxBoots := opt.MaxBoots
	if maxBoots < cfg.Boots {
		maxBoots = cfg.Boots
	}
	for round := 1; round <= maxBoots && ctx.Err() == nil; round++ {
		tab, err := stats.Compare([]string{opt.OutDir}, stats.CompareOptions{Column: opt.Column, Alpha: opt.Alpha, Threshold: opt.Threshold, SlowFactor: opt.SlowFactor})
		if err != nil {
			return err
		}
		ds, more := decisions(tab, maxBoots, opt.DecideTime)
		sum.Decisions = ds
		state, err := sum.Store.State()
		if err != nil {
			return err
		}
		var todo []job
		for ki, kc := range cfg.Kernels {
			for ci, bc := range cfg.Configs {
				if !opt.Shard.Has(ki*len(cfg.Configs)+ci) || !more[[2]string{kc.Name, bc.Name}] {
					continue
				}
				cell := store.CellName(kc.Name, bc.Name)
				next := 0
				for b := range state[cell] {
					next = max(next, b+1)
				}
				todo = append(todo, job{cell: cell, kernel: kerns[ki], info: rec.Kernels[ki], config: bc, boot: next})
			}
		}
		if len(todo) == 0 {
			return nil
		}
		sort.Slice(todo, func(i, j int) bool { return todo[i].cell < todo[j].cell })
		p.Logf("until decided, round %d: %d comparisons open, one more boot for %d cells", round, countOpen(ds), len(todo))
		p.Begin(len(todo), 0, r.jobs)
		if err := r.runJobs(ctx, todo); err != nil {
			return err
		}
	}
	return nil
}

func countOpen(ds []Decision) int {
	n := 0
	for _, d := range ds {
		if d.Outcome == "undecided" {
			n++
		}
	}
	return n
}
