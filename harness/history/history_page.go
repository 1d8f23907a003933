package history

import (
	"bytes"
	"cmp"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"kharness/internal/atomicfile"
	"kharness/kernels"
	"kharness/results/show"
)

// HistoryPageFile and HistoryTableFile are the page and the Markdown
// table a history writes into its directory.
const (
	HistoryPageFile  = "history.html"
	HistoryTableFile = "history.md"
)

// writeHistoryPage writes DIR/history.html and DIR/history.md over every
// kernel of cs that has a record.
func writeHistoryPage(o HistoryOptions, cs []kernels.Candidate, res *HistoryResult) error {
	pg := historyPageOf(o, cs, res.Records)
	var page, table bytes.Buffer
	if err := show.WriteHistory(&page, pg); err != nil {
		return err
	}
	if err := show.WriteHistoryTable(&table, pg); err != nil {
		return err
	}
	res.Page, res.Table = filepath.Join(o.Dir, HistoryPageFile), filepath.Join(o.Dir, HistoryTableFile)
	if err := atomicfile.Write(res.Page, page.Bytes(), 0o644); err != nil {
		return err
	}
	return atomicfile.Write(res.Table, table.Bytes(), 0o644)
}

// historyPageOf is the page's data: the recorded kernels in cs's order,
// the benchmarks in the order of Bench's alternatives.
func historyPageOf(o HistoryOptions, cs []kernels.Candidate, recs []*HistoryRecord) *show.HistoryPage {
	pg := &show.HistoryPage{Title: "kharness history: " + o.Dir,
		Command: "kharness history -o " + o.Dir + map[bool]string{true: " -bench '" + o.Bench + "'"}[o.Bench != HistoryBench]}
	for i, rec := range recs {
		if rec == nil {
			continue
		}
		k := show.HistoryKernel{Label: historyKey(cs[i]), Release: cmp.Or(rec.Kernel.Release, rec.Kernel.Label), Version: rec.Kernel.Version,
			Suite: rec.Kernel.Suite, Upstream: rec.Upstream, Points: map[string]show.HistoryValue{}}
		if rec.Status != "complete" {
			k.Failed = cmp.Or(rec.Reason, rec.Status)
		}
		for _, b := range rec.Benches {
			k.Points[b.Name] = show.HistoryValue{Value: b.Kinsns, Boots: b.Boots, Link: filepath.ToSlash(b.Boot), Funcs: b.Funcs}
			if !slices.Contains(pg.Benches, b.Name) {
				pg.Benches = append(pg.Benches, b.Name)
			}
		}
		pg.Kernels = append(pg.Kernels, k)
	}
	slices.SortStableFunc(pg.Benches, func(a, b string) int {
		return cmp.Or(cmp.Compare(benchRank(o.Bench, a), benchRank(o.Bench, b)), strings.Compare(a, b))
	})
	return pg
}

// benchRank is the index of the first of bench's alternatives that
// matches name.
func benchRank(bench, name string) int {
	for i, alt := range strings.Split(bench, "|") {
		if re, err := regexp.Compile(alt); err == nil && re.MatchString(name) {
			return i
		}
	}
	return len(bench)
}
