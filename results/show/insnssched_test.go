package show

import (
	"strings"
	"testing"

	"kharness/results/stats"
)

// TestWriteTextInsnsSched: a table with exact rows says in its legend how
// the switching benchmarks were counted, and warns when its boots did not
// all count them the same way.
func TestWriteTextInsnsSched(t *testing.T) {
	text := func(tab *stats.Table) string {
		var b strings.Builder
		if err := WriteText(&b, tab); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	fifo, batch := "fifo: under SCHED_FIFO priority 1", "batch: under SCHED_BATCH"
	out := text(&stats.Table{Column: "config", Row: "kernel", Exact: true, InsnsSched: []string{fifo}})
	if !strings.Contains(out, "switching benchmarks (pipe, socket, lat_ctx): "+fifo+"\n") || strings.Contains(out, "different policies") {
		t.Errorf("one policy: legend\n%s", out)
	}
	out = text(&stats.Table{Column: "config", Row: "kernel", Exact: true, InsnsSched: []string{fifo, batch}})
	if !strings.Contains(out, batch) || !strings.Contains(out, "warning: the boots compared counted switches under 2 different policies") {
		t.Errorf("two policies: legend\n%s", out)
	}
	if out := text(&stats.Table{Column: "config", Row: "kernel", InsnsSched: []string{fifo}}); strings.Contains(out, fifo) {
		t.Errorf("no exact rows, yet the legend names the count's policy:\n%s", out)
	}
}

// TestWriteTextInsnsClock: the legend says which clock the switches were
// counted on, and warns when the boots compared differ in it.
func TestWriteTextInsnsClock(t *testing.T) {
	off, on := "tsc; TSC watchdog off (tsc=reliable)", "tsc; TSC watchdog on"
	for _, tc := range []struct {
		clocks []string
		warn   bool
	}{{[]string{off}, false}, {[]string{off, on}, true}} {
		var b strings.Builder
		if err := WriteText(&b, &stats.Table{Column: "config", Row: "kernel", Exact: true, InsnsClock: tc.clocks}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if !strings.Contains(out, "exact counts' clock: "+off+"\n") || strings.Contains(out, "different clock settings") != tc.warn {
			t.Errorf("clocks %q: legend\n%s", tc.clocks, out)
		}
	}
}
