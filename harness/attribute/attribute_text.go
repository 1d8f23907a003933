package attribute

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"kharness/harness"
	"kharness/results/show"
)

// WriteAttribution prints a: the kernels, then per benchmark a line
// "NAME: A 321 -> B 329 kernel insns/op (+8)" and a table of the top
// functions by the size of their change (all when top <= 0), function, A,
// B and delta, with the rest summed in one row.
func WriteAttribution(w io.Writer, a *Attribution, top int) {
	for _, k := range []struct {
		side string
		name string
		desc string
	}{{"A", a.A.Release, harness.KernelDesc(a.A)}, {"B", a.B.Release, harness.KernelDesc(a.B)}} {
		fmt.Fprintf(w, "%s: %s (%s)\n", k.side, k.name, k.desc)
	}
	for _, b := range a.Benches {
		fmt.Fprintf(w, "\n%s: A %s -> B %s kernel insns/op (%s)\n", b.Name, count(b.A), count(b.B), signed(b.B-b.A))
		for _, s := range []struct {
			side  string
			boots []float64
		}{{"A", b.BootsA}, {"B", b.BootsB}} {
			if len(s.boots) > 1 && slices.Min(s.boots) != slices.Max(s.boots) {
				var each []string
				for _, x := range s.boots {
					each = append(each, count(x))
				}
				fmt.Fprintf(w, "  %s's boots disagree (%s): the functions are those of a boot with the most common count\n", s.side, strings.Join(each, ", "))
			}
		}
		rows := [][4]string{{"function", "A", "B", "delta"}}
		shown := b.Funcs
		if top > 0 && len(shown) > top {
			shown = shown[:top]
		}
		for _, f := range shown {
			rows = append(rows, [4]string{f.Name, count(f.A), count(f.B), signed(f.Delta)})
		}
		if rest := b.Funcs[len(shown):]; len(rest) > 0 {
			var ra, rb float64
			for _, f := range rest {
				ra += f.A
				rb += f.B
			}
			rows = append(rows, [4]string{fmt.Sprintf("(%d others)", len(rest)), count(ra), count(rb), signed(rb - ra)})
		}
		writeRows(w, rows)
	}
	fmt.Fprintf(w, "\nresults: %s\n", a.Dir)
}

// writeRows writes rows as a table: the first column aligned left, the
// numbers right.
func writeRows(w io.Writer, rows [][4]string) {
	var width [4]int
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %*s  %*s  %*s\n", width[0], r[0], width[1], r[1], width[2], r[2], width[3], r[3])
	}
}

// count and signed format instructions per operation as finding reports
// and compare's why lines do: whole numbers as such, others to two
// decimals; signed with a sign.
var count, signed = show.Count, show.Signed
