package show

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"kharness/kernels"
	"kharness/results/stats"
	"kharness/results/store"
	"kharness/results/stream"
)

// ReportOptions configures WriteReport.
type ReportOptions struct {
	// Compare configures the comparison table, and which setups may be
	// mixed; its Column defaults to "config".
	Compare stats.CompareOptions
	// Title heads the page; "" means "kharness report".
	Title string
	// LinkBase is the directory the report will be read from: links to
	// each boot's console.log and qemu.argv are relative to it. "" means
	// the current directory.
	LinkBase string
	// Sections add sections after the comparison table and before the list
	// of boots, in order: the hook for reports that only some runs have,
	// such as a seed table.
	Sections []ReportSectionFunc
}

// ReportSection is an extra section of a report.
type ReportSection struct {
	ID    string // the section's anchor, unique in the page; escaped
	Title string // its heading; escaped
	// Body is inserted as is: build it with html/template so that every
	// guest-supplied string in it is escaped.
	Body template.HTML
}

// ReportSectionFunc makes extra sections of a report from the boots it
// covers (every committed attempt, sorted by cell, boot and attempt) and
// its comparison table. It may return no section.
type ReportSectionFunc func(boots []*store.BootRecord, t *stats.Table) ([]ReportSection, error)

// WriteReport writes a self-contained HTML page about the run directories
// dirs, merged as one run: for each benchmark and unit an SVG plot of
// every ok boot's median and each cell's median with its confidence
// interval, kernels ordered by version along the x axis and one series a
// boot config; the comparison table of Compare with its calls; and each
// boot attempt with its status and links to its console log and QEMU
// command line. The page fetches nothing: no script, style sheet, font or
// image outside it. Every string that came from a run is escaped.
func WriteReport(w io.Writer, dirs []string, opt ReportOptions) error {
	tab, err := stats.Compare(dirs, opt.Compare)
	if err != nil {
		return err
	}
	boots, err := store.LoadBoots(dirs...)
	if err != nil {
		return err
	}
	g := stats.Guard(boots, cmp.Or(opt.Compare.SlowFactor, stats.DefaultSlowFactor))
	g.Correct = opt.Compare.HostCorrect // as the table's
	base, err := filepath.Abs(cmp.Or(opt.LinkBase, "."))
	if err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	v := &reportView{Title: cmp.Or(opt.Title, "kharness report"), Runs: dirs, Table: tab}
	v.Setup = fmt.Sprintf("accel %s; QEMU %s; guest CPU %s; host CPU %s; -j %s",
		list(tab.Accel), list(tab.QEMUVersion), list(tab.GuestCPU), list(tab.HostCPU), list(tab.Jobs))
	v.Conf = strconv.FormatFloat(tab.Confidence*100, 'g', 4, 64)
	v.Alpha = strconv.FormatFloat(tab.Alpha, 'g', -1, 64)
	v.Threshold = strconv.FormatFloat(tab.Threshold*100, 'g', 4, 64)
	ax := reportAxes(tab, boots, dirs)
	meds := bootPoints(g, boots)
	v.Plots = makePlots(tab, ax, meds)
	v.tableView(tab, ax)
	v.bootsView(boots, ax, meds, base)
	for _, f := range opt.Sections {
		secs, err := f(boots, tab)
		if err != nil {
			return fmt.Errorf("writing report: %w", err)
		}
		v.Sections = append(v.Sections, secs...)
	}
	if err := reportTemplate.Execute(w, v); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

// reportView is what the report's template renders.
type reportView struct {
	Title, Setup, Conf, Alpha, Threshold string
	Runs                                 []string
	Table                                *stats.Table
	Plots                                []plotView
	Header                               []string
	Rows                                 []tableRowView
	Notes                                []string
	Sections                             []ReportSection
	Cells                                []bootCellView
	BenchCols                            []string // benchmark columns of the boot lists
}

type tableRowView struct {
	Benchmark, Unit, Key string
	Cells                []tableCellView
	Why                  []whyChartView // the called exact cells' functions
	Span                 int            // the table's columns
}

type tableCellView struct {
	Median, CI, N, Failed, Ratio, Call, Class, Title string
}

type bootCellView struct {
	ID, Kernel, Release, Config, Cmdline string
	Boots                                []bootView
}

type bootView struct {
	Boot, Attempt, Status, Class, Reason, Wall, Load string
	Values                                           []string
	Console, Argv                                    string // relative links; "" if the file is missing
	Tail                                             []string
}

// tableView fills the comparison table's rows: Compare's, with kernels
// in version order if they are the rows.
func (v *reportView) tableView(t *stats.Table, ax axes) {
	for i, c := range t.Columns {
		v.Header = append(v.Header, c, "±", "n")
		if i > 0 {
			v.Header = append(v.Header, "vs "+t.Columns[0])
		}
	}
	for i, n := range t.Notes {
		v.Notes = append(v.Notes, marker(i+1)+" "+n)
	}
	rows := slices.Clone(t.Rows)
	if t.Row == "kernel" {
		group := make(map[stats.Key]int) // Compare groups the rows by benchmark
		for _, r := range rows {
			if _, ok := group[stats.Key{Name: r.Benchmark, Unit: r.Unit}]; !ok {
				group[stats.Key{Name: r.Benchmark, Unit: r.Unit}] = len(group)
			}
		}
		slices.SortStableFunc(rows, func(a, b stats.Row) int {
			return cmp.Or(cmp.Compare(group[stats.Key{Name: a.Benchmark, Unit: a.Unit}], group[stats.Key{Name: b.Benchmark, Unit: b.Unit}]),
				cmp.Compare(slices.Index(ax.kernels, a.Key), slices.Index(ax.kernels, b.Key)))
		})
	}
	for _, r := range rows {
		rv := tableRowView{Benchmark: r.Benchmark, Unit: r.Unit, Key: r.Key, Why: whyCharts(t, r), Span: 3 + len(v.Header)}
		for i, c := range r.Cells {
			cv := tableCellView{Median: "-", Ratio: "-"}
			switch {
			case c.Boots > 0:
				cv.Median = FormatValue(c.Center, r.Unit)
				cv.CI = cellText(c, r.Unit, false)[1]
				cv.N = strconv.Itoa(c.Boots)
				cv.Title = fmt.Sprintf("%s [%s, %s]", cv.Median, FormatValue(c.Lo, r.Unit), FormatValue(c.Hi, r.Unit))
				if c.Failed > 0 {
					cv.N += fmt.Sprintf(" (+%d failed)", c.Failed)
					cv.Failed = "most common failure: " + stream.Printable(c.Reason, 300)
				}
			case c.Failed > 0:
				cv.Median = fmt.Sprintf("failed (%d)%s", c.Failed, markers(c.FailNotes))
				cv.Failed = stream.Printable(c.Reason, 300)
			}
			if i > 0 {
				cv.Class = "none"
				if c.Compared {
					cv.Ratio = fmt.Sprintf("×%.2f p=%.3f%s", c.Ratio, c.P, markers(c.PNotes))
					if stream.ExactUnit(r.Unit) { // no p-value: the call is on the boots' ranges
						cv.Ratio = fmt.Sprintf("×%.4f %s exact", c.Ratio, Signed(c.Delta))
					}
					cv.Call, cv.Class = string(c.Call), callClass(c.Call)
				}
			}
			rv.Cells = append(rv.Cells, cv)
		}
		v.Rows = append(v.Rows, rv)
	}
}

// callClass is the CSS class of a call.
func callClass(c stats.Call) string {
	switch c {
	case stats.CallRegression:
		return "regression"
	case stats.CallImprovement:
		return "improvement"
	case stats.CallSame:
		return "same"
	}
	return "none"
}

// bootsView fills the list of boot attempts, by cell in the order of the
// plots, with links relative to base.
func (v *reportView) bootsView(boots []*store.BootRecord, ax axes, meds map[cellKey][]bootPoint, base string) {
	var keys []stats.Key
	for _, r := range v.Table.Rows {
		if k := (stats.Key{Name: r.Benchmark, Unit: r.Unit}); r.Unit != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
			v.BenchCols = append(v.BenchCols, r.Benchmark+" ("+r.Unit+")")
		}
	}
	byCell := make(map[[2]string][]*store.BootRecord)
	for _, b := range boots {
		id := [2]string{b.Kernel.Label, b.Config.Name}
		byCell[id] = append(byCell[id], b)
	}
	for _, k := range ax.kernels {
		for _, c := range ax.configs {
			bs := byCell[[2]string{k, c}]
			if len(bs) == 0 {
				continue
			}
			cv := bootCellView{ID: "cell-" + bs[0].Cell, Kernel: k, Release: bs[0].Kernel.Release,
				Config: c, Cmdline: bs[0].Config.Cmdline}
			for _, b := range bs {
				cv.Boots = append(cv.Boots, bootRow(b, keys, meds, base))
			}
			v.Cells = append(v.Cells, cv)
		}
	}
}

// bootRow describes boot attempt b.
func bootRow(b *store.BootRecord, keys []stats.Key, meds map[cellKey][]bootPoint, base string) bootView {
	bv := bootView{Boot: strconv.Itoa(b.Boot), Attempt: strconv.Itoa(b.Attempt), Status: string(b.Status),
		Class: "ok", Reason: stream.Printable(strings.TrimSpace(b.Reason), 500),
		Wall: strconv.FormatFloat(b.WallSeconds, 'f', 1, 64) + " s", Load: strconv.FormatFloat(b.HostLoad[0], 'f', 2, 64),
		Console: relLink(base, b.Dir, store.ConsoleLog), Argv: relLink(base, b.Dir, store.ArgvFile)}
	if !b.Status.OK() {
		bv.Class = "failed"
		for _, l := range b.ConsoleTail {
			bv.Tail = append(bv.Tail, stream.Printable(l, 300))
		}
	}
	for _, k := range keys {
		val := ""
		for _, p := range meds[cellKey{b.Kernel.Label, b.Config.Name, k}] {
			if p.boot == b {
				val = FormatValue(p.v, k.Unit)
			}
		}
		bv.Values = append(bv.Values, val)
	}
	return bv
}

// relLink returns the URL of file name in directory dir relative to base,
// or "" if the file does not exist.
func relLink(base, dir, name string) string {
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
		if rel, err := filepath.Rel(base, abs); err == nil {
			path = rel
		}
	}
	return (&url.URL{Path: filepath.ToSlash(path)}).String()
}

// cellKey is a kernel, config, benchmark and unit.
type cellKey struct {
	kernel, config string
	bench          stats.Key
}

// bootPoint is one ok boot's median of one benchmark.
type bootPoint struct {
	v    float64
	boot *store.BootRecord
}

// bootPoints returns the per-boot medians of the ok boots. Boots whose
// results do not read are left out: Compare has already refused them.
func bootPoints(g *stats.HostGuard, boots []*store.BootRecord) map[cellKey][]bootPoint {
	m := make(map[cellKey][]bootPoint)
	for _, b := range boots {
		if !b.Status.OK() {
			continue
		}
		meds, order, _, err := g.Medians(b)
		if err != nil {
			continue
		}
		for _, k := range order {
			ck := cellKey{b.Kernel.Label, b.Config.Name, k}
			m[ck] = append(m[ck], bootPoint{meds[k], b})
		}
	}
	return m
}

// axes are a report's kernels, ordered by version, and its configs in
// the table's order, with what the plots label them with.
type axes struct {
	kernels  []string
	releases map[string]string // by kernel label: its release, else its package version
	configs  []string
	cmdlines map[string]string // by config name
}

// reportAxes returns the axes of t. A kernel's version is its release
// (uname -r) if every kernel has one, else its package version if every
// kernel has one; kernels that neither tells apart keep the table's order.
func reportAxes(t *stats.Table, boots []*store.BootRecord, dirs []string) axes {
	info := make(map[string]store.KernelInfo)
	ax := axes{releases: make(map[string]string), cmdlines: make(map[string]string)}
	add := func(k store.KernelInfo) {
		old := info[k.Label]
		info[k.Label] = store.KernelInfo{Label: k.Label, Release: cmp.Or(old.Release, k.Release), Version: cmp.Or(old.Version, k.Version)}
	}
	for _, b := range boots {
		add(b.Kernel)
		ax.cmdlines[b.Config.Name] = b.Config.Cmdline
	}
	for _, d := range dirs {
		if r, err := store.ReadRunDir(d); err == nil {
			for _, k := range r.Kernels {
				add(k)
			}
		}
	}
	for _, r := range t.Rows {
		for _, c := range r.Cells {
			ax.kernels, ax.configs = stats.AppendNew(ax.kernels, c.Kernel), stats.AppendNew(ax.configs, c.Config)
		}
	}
	every := func(f func(store.KernelInfo) string) bool {
		for _, k := range ax.kernels {
			if f(info[k]) == "" {
				return false
			}
		}
		return true
	}
	byRelease := every(func(k store.KernelInfo) string { return k.Release })
	byVersion := every(func(k store.KernelInfo) string { return k.Version })
	slices.SortStableFunc(ax.kernels, func(a, b string) int {
		if byRelease {
			if c := kernels.CompareReleases(info[a].Release, info[b].Release); c != 0 {
				return c
			}
		}
		if byVersion {
			return kernels.CompareVersions(info[a].Version, info[b].Version)
		}
		return 0
	})
	for _, k := range ax.kernels {
		ax.releases[k] = cmp.Or(info[k].Release, info[k].Version)
	}
	return ax
}
