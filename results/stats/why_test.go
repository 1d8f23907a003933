package stats

import (
	"math"
	"strings"
	"testing"

	"kharness/results/internal/fakerun"
	"kharness/results/stream"
)

// TestWhy: each called exact cell names the functions behind its change,
// and they, the user-space part and the rest add up to the row's delta.
func TestWhy(t *testing.T) {
	tab, err := Compare([]string{fakerun.WhyRun(t, true)}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tab.NoWhy != "" {
		t.Errorf("NoWhy %q with every cell profiled", tab.NoWhy)
	}
	want := map[string]struct{ delta, user float64 }{stream.InsnsUnit: {9, 1}, stream.KernelInsnsUnit: {8, 0}}
	seen := 0
	for _, r := range tab.Rows {
		w, ok := want[r.Unit]
		if !ok {
			continue
		}
		c := r.Cells[1]
		if c.Call != CallRegression || c.Delta != w.delta || c.Why == nil {
			t.Fatalf("%s %s: call %q delta %v why %v, want a regression of %v with a why", r.Benchmark, r.Unit, c.Call, c.Delta, c.Why, w.delta)
		}
		seen++
		got := map[string]float64{}
		sum := c.Why.User + c.Why.Rest + c.Why.OthersDelta
		for _, f := range c.Why.Funcs {
			got[f.Name] = f.Delta
			sum += f.Delta
		}
		if len(got) != 2 || got["entry_SYSCALL_64"] != 4 || got["pti_switch_cr3"] != 4 || c.Why.User != w.user || c.Why.Rest != 0 {
			t.Errorf("%s: functions %v, user %v, rest %v; want entry_SYSCALL_64 +4, pti_switch_cr3 +4, user %v, rest 0", r.Unit, got, c.Why.User, c.Why.Rest, w.user)
		}
		if math.Abs(sum-c.Delta) > 1e-9 {
			t.Errorf("%s: the parts add up to %v, the row's delta is %v", r.Unit, sum, c.Delta)
		}
		if !strings.Contains(c.Why.BootA, "default") || !strings.Contains(c.Why.BootB, "pti-on") {
			t.Errorf("%s: profiled boots %q and %q, want default's and pti-on's", r.Unit, c.Why.BootA, c.Why.BootB)
		}
	}
	if seen != 2 {
		t.Errorf("%d exact rows, want 2", seen)
	}
}

// TestWhyWithoutProfiles: a run without profiled boots says so, and how to
// get them.
func TestWhyWithoutProfiles(t *testing.T) {
	tab, err := Compare([]string{fakerun.WhyRun(t, false)}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tab.Rows {
		if r.Cells[1].Why != nil {
			t.Errorf("%s %s: a why without profiled boots", r.Benchmark, r.Unit)
		}
	}
	if !strings.Contains(tab.NoWhy, "2 called exact cells name no functions") || !strings.Contains(tab.NoWhy, "-profile first") {
		t.Errorf("NoWhy %q, want the 2 cells and how to profile", tab.NoWhy)
	}
}
