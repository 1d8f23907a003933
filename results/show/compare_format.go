package show

import (
	"bytes"
	"fmt"
	"io"
	"kharness/results/stats"
	"kharness/results/stream"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"golang.org/x/perf/benchmath"
	"golang.org/x/perf/benchunit"
)

// WriteText writes t as an aligned text table, followed by a footer naming
// the setup the numbers came from and the notes that cells refer to.
func WriteText(w io.Writer, t *stats.Table) error {
	var tab bytes.Buffer
	tw := tabwriter.NewWriter(&tab, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "columns: %s", t.Column)
	if len(t.Columns) > 1 {
		fmt.Fprintf(tw, "; ratios, p-values (Mann-Whitney U over boots) and calls against %s", stream.Printable(t.Columns[0], 80))
	}
	fmt.Fprintf(tw, "\n\nbenchmark\tunit\t%s", t.Row)
	for i, c := range t.Columns {
		fmt.Fprintf(tw, "\t%s\t±\tn", stream.Printable(c, 80))
		if i > 0 {
			fmt.Fprintf(tw, "\tvs %s", stream.Printable(t.Columns[0], 80))
		}
	}
	fmt.Fprintln(tw)
	for _, r := range t.Rows {
		// Names come from run directories, which anyone can write:
		// no control character (an escape sequence, a newline forging
		// a row) reaches the terminal.
		fmt.Fprintf(tw, "%s\t%s\t%s", stream.Printable(r.Benchmark, 200), stream.Printable(r.Unit, 40), stream.Printable(r.Key, 80))
		for i, c := range r.Cells {
			fmt.Fprintf(tw, "\t%s", strings.Join(cellText(c, r.Unit, i > 0), "\t"))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush() // cannot fail: it writes to a bytes.Buffer
	var b strings.Builder
	writeTableLines(&b, t, tab.String())
	fmt.Fprintf(&b, "\naccel %s; QEMU %s; guest CPU %s; host CPU %s; -j %s\n",
		list(t.Accel), list(t.QEMUVersion), list(t.GuestCPU), list(t.HostCPU), list(t.Jobs))
	fmt.Fprintf(&b, "n = boots per cell; ± is the %s%% CI of the median over boots\n",
		strconv.FormatFloat(t.Confidence*100, 'g', 4, 64))
	if len(t.Columns) > 1 {
		fmt.Fprintf(&b, "call: regression or improvement where p < %s and the median moved by more than %s%%, ~ otherwise\n"+
			"      (higher is better for rates such as B/s and ops/s, lower for other units)\n",
			strconv.FormatFloat(t.Alpha, 'g', -1, 64), strconv.FormatFloat(t.Threshold*100, 'g', 4, 64))
		if t.Exact {
			fmt.Fprintf(&b, "exact (insns/op: guest instructions per operation, counted under TCG; kinsns/op: those in the kernel): called where both sides\n"+
				"      have 2 or more boots, their ranges are apart by more than the wider range, and the medians differ by more than %s%%;\n"+
				"      +N is the difference in instructions\n",
				strconv.FormatFloat(t.ExactThreshold*100, 'g', 4, 64))
		}
	}
	if t.Exact {
		writeCountSettings(&b, t)
	}
	if t.Guard != "" {
		fmt.Fprintf(&b, "%s\n", t.Guard)
	}
	if t.FailedSamples > 0 {
		fmt.Fprintf(&b, "%d samples have no number (shown nowhere, not as 0); the first: %s\n", t.FailedSamples, stream.Printable(t.FailedSample, 300))
	}
	if t.NoCounts > 0 {
		fmt.Fprintf(&b, "%d exact counts not recorded (a boot's stretches gave no one answer; its n leaves it out); the first: %s\n", t.NoCounts, stream.Printable(t.NoCount, 300))
	}
	for i, n := range t.Notes {
		fmt.Fprintf(&b, "%s %s\n", marker(i+1), n)
	}
	for _, l := range t.DetectLines() {
		fmt.Fprintf(&b, "%s\n", l)
	}
	if t.NoWhy != "" {
		fmt.Fprintf(&b, "why: %s\n", stream.Printable(t.NoWhy, 600))
	}
	for _, w := range t.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing comparison: %w", err)
	}
	return nil
}

// cellText returns the cell's sub-columns: median, ± CI, n and, if ratio is
// set, the ratio to the first column with its p-value and call.
func cellText(c stats.Cell, unit string, ratio bool) []string {
	cols := []string{"-", "", ""}
	switch {
	case c.Boots > 0:
		ci := benchmath.Summary{Center: c.Center, Lo: c.Lo, Hi: c.Hi}
		cols = []string{FormatValue(c.Center, unit), spread(ci, unit) + markers(c.CINotes), strconv.Itoa(c.Boots)}
		if c.Failed > 0 {
			cols[2] += fmt.Sprintf(" (+%d failed)", c.Failed)
		}
	case c.OKBoots == 0 && c.Failed > 0:
		cols[0] = fmt.Sprintf("failed (%d: %s)%s", c.Failed, c.Status, markers(c.FailNotes))
	}
	if ratio {
		r := ""
		switch {
		case c.Compared && stream.ExactUnit(unit):
			r = fmt.Sprintf("×%.4f %+.2f exact %s%s", c.Ratio, c.Delta, c.Call, markers(c.PNotes))
		case c.Compared:
			r = fmt.Sprintf("×%.2f p=%.3f %s%s", c.Ratio, c.P, c.Call, markers(c.PNotes))
		}
		cols = append(cols, r)
	}
	return cols
}

// spread is the cell's confidence interval as "± N%", or, where a percent
// of the center means nothing (a center of 0, or an interval reaching
// across 0, as a usr% of boots that spent no time in user space), as the
// interval itself: "[0.000..1.200]". Never "± ?".
func spread(ci benchmath.Summary, unit string) string {
	if r := ci.PctRangeString(); r != "?" {
		return "± " + r
	}
	return "[" + FormatValue(ci.Lo, unit) + ".." + FormatValue(ci.Hi, unit) + "]"
}

// FormatValue formats v, in the tidied unit, with four significant digits:
// times as 462.3ns or 10.20µs, other units with an SI or binary prefix.
func FormatValue(v float64, unit string) string {
	if stream.ExactUnit(unit) {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	if unit != "sec" && !strings.HasPrefix(unit, "sec/") {
		return benchunit.Scale(v, benchunit.ClassOf(unit))
	}
	r := round4(v)
	for _, u := range []struct {
		f float64
		s string
	}{{1, "s"}, {1e-3, "ms"}, {1e-6, "µs"}} {
		if math.Abs(r) >= u.f {
			return sig4(v/u.f) + u.s
		}
	}
	return sig4(v/1e-9) + "ns"
}

// round4 rounds x to four significant digits.
func round4(x float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 4, 64), 64)
	return r
}

// sig4 formats x with four significant digits, or more for x ≥ 10000.
func sig4(x float64) string {
	if math.Abs(x) >= 1e4 {
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
	x = round4(x)
	if x == 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	d := max(3-int(math.Floor(math.Log10(math.Abs(x)))), 0)
	return strconv.FormatFloat(x, 'f', d, 64)
}

// marker returns the note marker for note n: ¹, ², … ⁹, then (10), ….
func marker(n int) string {
	const sup = "¹²³⁴⁵⁶⁷⁸⁹"
	if n >= 1 && n <= 9 {
		return string([]rune(sup)[n-1])
	}
	return fmt.Sprintf("(%d)", n)
}

func markers(ns []int) string {
	s := ""
	for _, n := range ns {
		s += " " + marker(n)
	}
	return s
}

// list joins distinct values for the footer; "?" if there are none.
func list[T any](vs []T) string {
	var s []string
	for _, v := range vs {
		if x := fmt.Sprint(v); x != "" {
			s = append(s, x)
		}
	}
	if len(s) == 0 {
		return "?"
	}
	return strings.Join(s, ", ")
}

// writeCountSettings writes how the switching benchmarks of t's boots were
// counted (policy, clock), with a warning where the boots differ.
func writeCountSettings(b *strings.Builder, t *stats.Table) {
	for _, c := range []struct {
		label string
		vals  []string
		warn  string // %d: how many settings
	}{
		{"exact counts of switching benchmarks (pipe, socket, lat_ctx)", t.InsnsSched, "counted switches under %d different policies: their exact rows measure different paths"},
		{"exact counts' clock", t.InsnsClock, "counted switches on %d different clock settings: their switch rows may measure different paths"},
	} {
		for _, s := range c.vals {
			fmt.Fprintf(b, "%s: %s\n", c.label, stream.Printable(s, 300))
		}
		if len(c.vals) > 1 {
			fmt.Fprintf(b, "warning: the boots compared "+c.warn+"\n", len(c.vals))
		}
	}
}
