package harness

import (
	"kharness/results/stats"
	"math"
	"testing"
)

// -until-decided stops adding boots to a comparison whose spread needs
// more than the cap to call a change of the threshold, and keeps adding
// to one whose spread a few more boots can settle.
func TestDecisionsPlan(t *testing.T) {
	cell := func(cfg string, spread float64) stats.Cell {
		return stats.Cell{Kernel: "k", Config: cfg, Boots: 3, OKBoots: 3, Center: 100, Lo: 95, Hi: 105, Ratio: 1.01, P: 0.4, Call: stats.CallSame, Spread: spread}
	}
	tab := &stats.Table{Columns: []string{"a", "b", "c"}, Alpha: 0.05, Threshold: 0.02, Rows: []stats.Row{{
		Benchmark: "NullSyscall/call=getppid", Unit: "sec/op", Key: "k",
		Cells: []stats.Cell{cell("a", 0.005), cell("b", 0.005), cell("c", 0.05)},
	}}}
	ds, more := decisions(tab, 15, false)
	if len(ds) != 2 {
		t.Fatalf("decisions %+v", ds)
	}
	if ds[0].Outcome != "undecided" || ds[0].Needed != 4 || !more[[2]string{"k", "b"}] {
		t.Errorf("a tight spread: %+v, more %v; want undecided, 4 a side, another boot for b", ds[0], more)
	}
	if ds[1].Outcome != "beyond the cap" || ds[1].Needed <= 15 || more[[2]string{"k", "c"}] {
		t.Errorf("a 5%% spread against a 2%% threshold: %+v, more %v; want beyond the cap and no boot for c", ds[1], more)
	}
	tab.Rows[0].Cells[2].Spread = math.NaN() // fewer than 3 boots: no plan yet
	ds, more = decisions(tab, 15, false)
	if ds[1].Outcome != "undecided" || ds[1].Needed != 0 || !more[[2]string{"k", "c"}] {
		t.Errorf("no spread yet: %+v", ds[1])
	}
}

// Under TCG a timed comparison whose benchmark has an exact count in the
// same cells is decided by the count and asks for no boot, unless time
// is asked for.
func TestDecisionsByCount(t *testing.T) {
	timed := func(cfg string) stats.Cell {
		return stats.Cell{Kernel: "k", Config: cfg, Boots: 3, Center: 100, Lo: 90, Hi: 110, Ratio: 1.05, P: 0.2, Call: stats.CallSame, Spread: 0.005}
	}
	counted := func(cfg string) stats.Cell {
		return stats.Cell{Kernel: "k", Config: cfg, Boots: 2, Center: 325, Lo: 325, Hi: 325, Ratio: 1, Call: stats.CallSame, Spread: math.NaN()}
	}
	tab := &stats.Table{Columns: []string{"a", "b"}, Alpha: 0.05, Threshold: 0.02, Rows: []stats.Row{
		{Benchmark: "NullSyscall", Unit: "insns/op", Key: "k", Cells: []stats.Cell{counted("a"), counted("b")}},
		{Benchmark: "NullSyscall", Unit: "sec/op", Key: "k", Cells: []stats.Cell{timed("a"), timed("b")}},
		{Benchmark: "Untimed", Unit: "sec/op", Key: "k", Cells: []stats.Cell{timed("a"), timed("b")}},
	}}
	ds, more := decisions(tab, 15, false)
	if len(ds) != 3 || ds[0].Outcome != "same count" || ds[1].Outcome != "decided by count" || ds[2].Outcome != "undecided" {
		t.Fatalf("decisions %+v", ds)
	}
	if !more[[2]string{"k", "b"}] {
		t.Errorf("the benchmark without a count asks for no boot: %v", more)
	}
	ds, _ = decisions(tab, 15, true)
	if ds[1].Outcome != "undecided" {
		t.Errorf("with time asked for: %+v, want undecided", ds[1])
	}
}
