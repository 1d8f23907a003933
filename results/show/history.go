package show

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// HistoryPage is a history of kernels: each benchmark's exact kernel
// instructions per operation on every kernel, in the kernels' order.
type HistoryPage struct {
	Title   string
	Command string // the command that reproduces the page
	Benches []string
	Kernels []HistoryKernel
	// Annotate is the smallest step, in instructions, given its functions
	// (2 when zero); Top is how many functions a step shows (6 when zero).
	Annotate float64
	Top      int
}

// HistoryKernel is one kernel of a history.
type HistoryKernel struct {
	Label, Release, Version, Suite, Upstream string
	// Failed says why the kernel has no points, when it has none.
	Failed string
	Points map[string]HistoryValue
}

// HistoryValue is one benchmark's count on one kernel.
type HistoryValue struct {
	Value float64
	Boots []float64 // each boot's count
	Link  string    // the boot's directory, relative to the page
	// Funcs is each kernel function's instructions per operation; nil
	// when the kernel was counted without profile.
	Funcs map[string]float64
}

// HistoryStep is a change of a benchmark's count between two kernels that
// have it, with no kernel between them that has it.
type HistoryStep struct {
	Bench    string
	From, To int // indices into Kernels
	Delta    float64
	// Funcs are the functions whose count changed most (Top of them), for
	// a step of at least Annotate instructions.
	Funcs []FuncDelta
	// NoProfile is set when a kernel of the step was counted without
	// profile (its Funcs are nil): the step has no functions.
	NoProfile bool
}

// FuncDelta is one function's kernel instructions per operation on both
// kernels of a step.
type FuncDelta struct {
	Name     string
	A, B, Dx float64
}

// HistorySteps is every step of every benchmark, in benchmark then kernel
// order.
func HistorySteps(pg *HistoryPage) []HistoryStep {
	annotate, top := cmp.Or(pg.Annotate, 2), cmp.Or(pg.Top, 6)
	var out []HistoryStep
	for _, b := range pg.Benches {
		prev := -1
		for i, k := range pg.Kernels {
			v, ok := k.Points[b]
			if !ok {
				continue
			}
			if prev >= 0 {
				a := pg.Kernels[prev].Points[b]
				if d := v.Value - a.Value; d != 0 {
					s := HistoryStep{Bench: b, From: prev, To: i, Delta: d}
					switch {
					case a.Funcs == nil || v.Funcs == nil:
						s.NoProfile = true
					case math.Abs(d) >= annotate:
						s.Funcs = funcDeltas(a.Funcs, v.Funcs, top)
					}
					out = append(out, s)
				}
			}
			prev = i
		}
	}
	return out
}

// funcDeltas is the top functions by the size of their change from a to b.
func funcDeltas(a, b map[string]float64, top int) []FuncDelta {
	var out []FuncDelta
	for f, x := range a {
		if y := b[f]; y != x {
			out = append(out, FuncDelta{f, x, y, y - x})
		}
	}
	for f, y := range b {
		if _, ok := a[f]; !ok && y != 0 {
			out = append(out, FuncDelta{f, 0, y, y})
		}
	}
	slices.SortFunc(out, func(x, y FuncDelta) int {
		return cmp.Or(cmp.Compare(math.Abs(y.Dx), math.Abs(x.Dx)), cmp.Compare(x.Name, y.Name))
	})
	return out[:min(len(out), top)]
}

// LargestSteps is the n largest steps of bench (every benchmark when
// empty), by their size.
func LargestSteps(steps []HistoryStep, bench string, n int) []HistoryStep {
	var out []HistoryStep
	for _, s := range steps {
		if bench == "" || s.Bench == bench {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(x, y HistoryStep) int { return cmp.Compare(math.Abs(y.Delta), math.Abs(x.Delta)) })
	return out[:min(len(out), n)]
}

// shortBench is a benchmark's name without its parameters' keys, for a
// column heading.
func shortBench(b string) string {
	parts := strings.Split(b, "/")
	for i, p := range parts[1:] {
		if _, v, ok := strings.Cut(p, "="); ok {
			parts[i+1] = v
		}
	}
	return strings.Join(parts, " ")
}

// count prints a count: whole numbers without a fraction.
func count(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// signed prints a step with its sign.
func signed(v float64) string {
	if v > 0 {
		return "+" + count(v)
	}
	return count(v)
}

// WriteHistoryTable writes the history as a Markdown table: a row a
// kernel, a column a benchmark, each count with its step from the kernel
// above that has one; then the largest steps with their functions.
func WriteHistoryTable(w io.Writer, pg *HistoryPage) error {
	var b strings.Builder
	b.WriteString("| kernel | version | suite |")
	for _, n := range pg.Benches {
		fmt.Fprintf(&b, " %s |", mdCell(shortBench(n)))
	}
	b.WriteString("\n|---|---|---|" + strings.Repeat("---|", len(pg.Benches)) + "\n")
	steps := HistorySteps(pg)
	stepAt := map[[2]any]float64{}
	for _, s := range steps {
		stepAt[[2]any{s.Bench, s.To}] = s.Delta
	}
	for i, k := range pg.Kernels {
		fmt.Fprintf(&b, "| %s | %s | %s |", mdCell(k.Release), mdCell(k.Version), mdCell(k.Suite))
		for _, n := range pg.Benches {
			v, ok := k.Points[n]
			switch {
			case !ok && k.Failed != "":
				b.WriteString(" failed |")
			case !ok:
				b.WriteString(" no count |")
			default:
				cell := count(v.Value)
				if d, ok := stepAt[[2]any{n, i}]; ok {
					cell += " (" + signed(d) + ")"
				}
				fmt.Fprintf(&b, " %s |", cell)
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n%d kernels, %d steps.\n", len(pg.Kernels), len(steps))
	_, err := io.WriteString(w, b.String())
	return err
}

// mdCell is s safe in a Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}
