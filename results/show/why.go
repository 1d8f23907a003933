package show

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"kharness/results/stats"
	"kharness/results/stream"
)

// WhyPart is one bar of an attribution: a function, or the sum of the
// others, the user-space part or the rest the profiled boots do not show.
type WhyPart struct {
	Name  string  `json:"name"`
	Delta float64 `json:"delta"`
}

// WhyParts is w as the parts that add up to its cell's Delta: the
// functions, then "(N others)", "[user space]" and "[not in the profiled
// boots]" where not zero.
func WhyParts(w *stats.Why) []WhyPart {
	var out []WhyPart
	for _, f := range w.Funcs {
		out = append(out, WhyPart{stream.Printable(f.Name, 120), f.Delta})
	}
	for _, p := range []WhyPart{
		{fmt.Sprintf("(%d others)", w.Others), w.OthersDelta},
		{"[user space]", w.User},
		{"[not in the profiled boots]", w.Rest},
	} {
		if !zeroCount(p.Delta) {
			out = append(out, p)
		}
	}
	return out
}

// zeroCount reports whether a change in instructions per operation
// prints as 0.
func zeroCount(x float64) bool { return math.Abs(x) < 0.005 }

// Count formats instructions per operation: whole numbers as such,
// others to two decimals.
func Count(x float64) string {
	if r := math.Round(x); math.Abs(x-r) < 0.005 {
		return strconv.FormatFloat(r+0, 'f', 0, 64)
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}

// Signed is Count with a sign.
func Signed(x float64) string {
	s := Count(x)
	if !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return s
}

// whyText is the line under a table row for its called cell c in column
// col: "  why pti-on +8: entry_SYSCALL_64 +4, ...". Functions whose change
// prints as 0 are left out.
func whyText(c stats.Cell, col string) string {
	var parts []string
	for _, p := range WhyParts(c.Why) {
		if !zeroCount(p.Delta) {
			parts = append(parts, p.Name+" "+Signed(p.Delta))
		}
	}
	if len(parts) == 0 {
		parts = []string{"no function changed"}
	}
	return fmt.Sprintf("  why %s %s: %s", stream.Printable(col, 80), Signed(c.Delta), strings.Join(parts, ", "))
}

// whyLines is the why lines under row r, one per called cell with a Why.
func whyLines(t *stats.Table, r stats.Row) []string {
	var out []string
	for i, c := range r.Cells {
		if i > 0 && c.Why != nil {
			out = append(out, whyText(c, t.Columns[i]))
		}
	}
	return out
}

// whyCSV is the why field of a CSV record: the parts, "; "-separated.
func whyCSV(w *stats.Why) string {
	if w == nil {
		return ""
	}
	var parts []string
	for _, p := range WhyParts(w) {
		parts = append(parts, p.Name+" "+Signed(p.Delta))
	}
	return strings.Join(parts, "; ")
}

// writeTableLines writes the tabwriter's lines of t, table, to b: the
// "columns:" line, a blank line, the header, then one line a row, each
// followed by its why lines (outside the tabwriter, so that they do not
// widen its columns).
func writeTableLines(b *strings.Builder, t *stats.Table, table string) {
	for i, line := range slices.Collect(strings.Lines(table)) {
		b.WriteString(strings.TrimRight(line, " \n") + "\n")
		if r := i - 3; r >= 0 && r < len(t.Rows) {
			for _, l := range whyLines(t, t.Rows[r]) {
				b.WriteString(l + "\n")
			}
		}
	}
}
