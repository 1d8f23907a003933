package show

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"kharness/results/stats"
	"kharness/results/stream"
	"math"
	"strconv"
	"strings"
)

// JSONTable is the form of a Table that WriteJSON writes: the setup the
// numbers came from and one JSONResult for each benchmark, unit, row and
// column, in the order of the text table's rows and cells.
type JSONTable struct {
	ColumnAxis string   `json:"column_axis"` // "config" or "kernel"
	RowAxis    string   `json:"row_axis"`    // the other one
	Columns    []string `json:"columns"`     // values of the column axis; the first is the baseline of ratios
	Confidence float64  `json:"confidence"`  // level of the intervals [lo, hi], e.g. 0.95
	Alpha      float64  `json:"alpha"`       // significance level of the calls
	Threshold  float64  `json:"threshold"`   // smallest change called, a fraction: 0.02 is 2%

	// Distinct values among the ok boots compared.
	Accel       []string `json:"accel"`
	QEMUVersion []string `json:"qemu_version"`
	GuestCPU    []string `json:"guest_cpu"`
	HostCPU     []string `json:"host_cpu"`
	Jobs        []int    `json:"jobs"`

	Regressions int          `json:"regressions"` // cells called "regression"
	Results     []JSONResult `json:"results"`
	Warnings    []string     `json:"warnings"`   // directories skipped and lines that did not parse
	HostGuard   string       `json:"host_guard"` // the samples set aside as host-slow, if any
	// FailedSamples counts samples with no number (an overhead not below
	// its total), which no median includes.
	FailedSamples int `json:"failed_samples"`
	// NoCounts counts the counted benchmarks of boots that recorded no
	// exact count (their stretches gave no one answer), which no median
	// includes; NoCount is the first, with its reason.
	NoCounts int    `json:"no_counts,omitempty"`
	NoCount  string `json:"no_count,omitempty"`
	// NoWhy says why some called exact cells name no functions, and how
	// to get them.
	NoWhy string `json:"no_why,omitempty"`
}

// JSONResult is one cell of a JSONTable, with the fields of a row of
// WriteCSV. Values are unrounded and in the tidied base unit of Unit:
// seconds for sec/op, bytes for B/op, bytes per second for B/s.
type JSONResult struct {
	Benchmark string     `json:"benchmark"` // without the "Benchmark" prefix
	Unit      string     `json:"unit"`      // tidied, e.g. "sec/op"
	Kernel    string     `json:"kernel"`    // kernel label
	Config    string     `json:"config"`    // boot config name
	N         int        `json:"n"`         // ok boots that reported the benchmark
	Failed    int        `json:"failed"`    // failed attempts of the kernel and config
	Median    *float64   `json:"median"`    // median of the per-boot medians; null if n is 0
	Lo        *float64   `json:"lo"`        // its confidence interval, or the range over boots (see notes)
	Hi        *float64   `json:"hi"`
	Ratio     *float64   `json:"ratio"`  // median over the first column's; null in the first column or without boots on either side
	P         *float64   `json:"p"`      // Mann-Whitney U p-value over per-boot medians against the first column; null with ratio
	Call      stats.Call `json:"call"`   // "regression", "improvement", "~", or "" where ratio is null
	Spread    *float64   `json:"spread"` // relative spread between boots (1.4826·MAD/median; for an exact count, as "±" shows it, the farthest boot's distance from the median over the median); null with fewer than 3 boots (exact: 2)
	// BootsToDetect is the boots a side that spread needs to call a
	// change of the table's detect fraction; 0 without -detect.
	BootsToDetect int      `json:"boots_to_detect,omitempty"`
	Notes         []string `json:"notes"` // statistical caveats and the most common failure of a cell with no ok boot
	// Why names the kernel functions behind a called exact change, from
	// the profiled boots of both cells (see stats.Why).
	Why *stats.Why `json:"why,omitempty"`
}

// JSON returns the table in the form WriteJSON writes.
func JSON(t *stats.Table) *JSONTable {
	j := &JSONTable{
		ColumnAxis: t.Column, RowAxis: t.Row, Columns: nonNil(t.Columns),
		Confidence: t.Confidence, Alpha: t.Alpha, Threshold: t.Threshold,
		Accel: nonNil(t.Accel), QEMUVersion: nonNil(t.QEMUVersion), GuestCPU: nonNil(t.GuestCPU),
		HostCPU: nonNil(t.HostCPU), Jobs: nonNil(t.Jobs),
		Regressions: t.Regressions(), Results: []JSONResult{}, Warnings: nonNil(t.Warnings), HostGuard: t.Guard, FailedSamples: t.FailedSamples,
		NoCounts: t.NoCounts, NoCount: t.NoCount, NoWhy: t.NoWhy,
	}
	for _, r := range t.Rows {
		for i, c := range r.Cells {
			res := JSONResult{Benchmark: r.Benchmark, Unit: r.Unit, Kernel: c.Kernel, Config: c.Config,
				N: c.Boots, Failed: c.Failed, Call: c.Call, Notes: []string{}, Why: c.Why}
			if c.Boots > 0 {
				res.Median, res.Lo, res.Hi = finite(c.Center), finite(c.Lo), finite(c.Hi)
				if res.Spread = finite(c.Spread); res.Spread != nil && t.Detect > 0 && !stream.ExactUnit(r.Unit) {
					res.BootsToDetect = stats.BootsToDetect(c.Spread, t.Detect, t.Alpha)
				}
			}
			if i > 0 && c.Compared {
				res.Ratio, res.P = finite(c.Ratio), finite(c.P)
			}
			for _, ns := range [][]int{c.CINotes, c.PNotes, c.FailNotes} {
				for _, n := range ns {
					res.Notes = append(res.Notes, t.Notes[n-1])
				}
			}
			j.Results = append(j.Results, res)
		}
	}
	return j
}

// WriteJSON writes t as an indented JSONTable.
func WriteJSON(w io.Writer, t *stats.Table) error {
	data, err := json.MarshalIndent(JSON(t), "", "  ")
	if err != nil {
		return fmt.Errorf("writing comparison: %w", err)
	}
	if _, err := w.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("writing comparison: %w", err)
	}
	return nil
}

// WriteCSV writes t as CSV: a header, then one record for each
// benchmark, unit, row and column with the fields of a JSONResult in the
// order benchmark, unit, the row axis's value, the column axis's value,
// n, failed, median, lo, hi, ratio, p, call, note, why. The header names the
// row and column axes ("kernel", "config"). Numbers are unrounded, in base
// units; a field with no value is empty; note joins the notes with "; ";
// why the functions behind a called exact change (WhyParts), "; "-separated.
func WriteCSV(w io.Writer, t *stats.Table) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"benchmark", "unit", t.Row, t.Column, "n", "failed", "median", "lo", "hi", "ratio", "p", "call", "note", "why"})
	for _, r := range JSON(t).Results {
		row, col := r.Kernel, r.Config
		if t.Column == "kernel" {
			row, col = col, row
		}
		// Quoting keeps a newline inside its field, but a terminal or
		// spreadsheet still acts on control characters: none pass.
		cw.Write([]string{stream.Printable(r.Benchmark, 200), stream.Printable(r.Unit, 40), stream.Printable(row, 80), stream.Printable(col, 80), strconv.Itoa(r.N), strconv.Itoa(r.Failed),
			num(r.Median), num(r.Lo), num(r.Hi), num(r.Ratio), num(r.P), string(r.Call), stream.Printable(strings.Join(r.Notes, "; "), 2000), whyCSV(r.Why)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing comparison: %w", err)
	}
	return nil
}

// finite returns a pointer to v, or nil if v is NaN or infinite, which
// JSON cannot hold.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// num formats *v exactly, or "" if v is nil.
func num(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
