package show

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// historyPlot is one benchmark's section of the history page.
type historyPlot struct {
	ID, Bench      string
	W, H, L, B, R  px
	Path           string
	Points         []historyMark
	XTicks, YTicks []tick
	Steps          []historyStepView
}

// historyMark is one kernel's point, linked to its boot.
type historyMark struct {
	X, Y        px
	Link, Title string
	Class       string // "pt", or "pt up"/"pt down" where a step lands
}

// historyStepView is a step as the page's table shows it.
type historyStepView struct {
	From, To, FromLink, ToLink string
	Delta, Class               string
	Funcs                      []FuncDelta
	Unattributed, NoProfile    bool
}

// historyRow is one kernel's row of the page's summary table.
type historyRow struct {
	K     HistoryKernel
	Cells []historyCell
}

type historyCell struct {
	Value, Step, Link, Class string
	Missing, Why             string
}

const historyPlotW, historyPlotH = 1100, 380

// WriteHistory writes the history as one self-contained HTML page (no
// script, no outside resource): a table of every kernel's counts, each
// linked to its boot, with every step marked; then a plot a benchmark and
// its steps, each of at least Annotate instructions with its functions.
func WriteHistory(w io.Writer, pg *HistoryPage) error {
	steps := HistorySteps(pg)
	data := struct {
		*HistoryPage
		Steps   int
		Rows    []historyRow
		Plots   []historyPlot
		Largest []historyStepView
		Heads   []string
	}{HistoryPage: pg, Steps: len(steps)}
	for _, b := range pg.Benches {
		data.Heads = append(data.Heads, shortBench(b))
	}
	byTo := map[[2]any]HistoryStep{}
	for _, s := range steps {
		byTo[[2]any{s.Bench, s.To}] = s
	}
	for i, k := range pg.Kernels {
		row := historyRow{K: k}
		for _, b := range pg.Benches {
			v, ok := k.Points[b]
			c := historyCell{Missing: "no count"}
			if k.Failed != "" {
				c.Missing, c.Why = "failed", k.Failed
			}
			if ok {
				c = historyCell{Value: count(v.Value), Link: v.Link}
				if s, ok := byTo[[2]any{b, i}]; ok {
					c.Step, c.Class = signed(s.Delta), stepClass(s.Delta)
				}
			}
			row.Cells = append(row.Cells, c)
		}
		data.Rows = append(data.Rows, row)
	}
	for bi, b := range pg.Benches {
		data.Plots = append(data.Plots, historyPlotOf(pg, bi, b, steps))
	}
	for _, b := range pg.Benches {
		for _, s := range LargestSteps(steps, b, 3) {
			data.Largest = append(data.Largest, stepView(pg, s))
		}
	}
	return historyTmpl.Execute(w, data)
}

func stepClass(d float64) string {
	if d > 0 {
		return "up"
	}
	return "down"
}

func stepView(pg *HistoryPage, s HistoryStep) historyStepView {
	a, b := pg.Kernels[s.From], pg.Kernels[s.To]
	return historyStepView{From: a.Release, To: b.Release, FromLink: a.Points[s.Bench].Link, ToLink: b.Points[s.Bench].Link,
		Delta: signed(s.Delta) + " " + shortBench(s.Bench), Class: stepClass(s.Delta), Funcs: s.Funcs,
		Unattributed: s.Funcs == nil && !s.NoProfile, NoProfile: s.NoProfile}
}

// historyPlotOf lays out one benchmark's plot: kernels evenly along x in
// the page's order, the count on y.
func historyPlotOf(pg *HistoryPage, bi int, bench string, steps []HistoryStep) historyPlot {
	p := historyPlot{ID: fmt.Sprintf("bench-%d", bi), Bench: bench, W: historyPlotW, H: historyPlotH, L: 70, R: historyPlotW - 70, B: historyPlotH - 110}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, k := range pg.Kernels {
		if v, ok := k.Points[bench]; ok {
			lo, hi = min(lo, v.Value), max(hi, v.Value)
		}
	}
	if math.IsInf(lo, 0) {
		return p
	}
	pad := math.Max((hi-lo)*0.08, 1)
	lo, hi = lo-pad, hi+pad
	const top = 20
	y := func(v float64) px { return p.B - px((v-lo)/(hi-lo))*(p.B-top) }
	n := max(len(pg.Kernels)-1, 1)
	x := func(i int) px { return p.L + 10 + px(float64(i)/float64(n))*(p.R-p.L-20) }
	for t := range 5 {
		v := lo + (hi-lo)*float64(t)/4
		label := fmt.Sprintf("%.0f", v)
		if hi-lo < 20 {
			label = fmt.Sprintf("%.1f", v)
		}
		p.YTicks = append(p.YTicks, tick{X: p.L - 6, Y: y(v), Label: label})
	}
	to := map[int]HistoryStep{}
	for _, s := range steps {
		if s.Bench == bench {
			to[s.To] = s
			p.Steps = append(p.Steps, stepView(pg, s))
		}
	}
	for i, k := range pg.Kernels {
		p.XTicks = append(p.XTicks, tick{X: x(i), Y: p.B + 8, Label: strings.TrimSuffix(k.Release, "-cloud-amd64")})
		v, ok := k.Points[bench]
		if !ok {
			continue
		}
		m := historyMark{X: x(i), Y: y(v.Value), Link: v.Link, Class: "pt", Title: fmt.Sprintf("%s (%s): %s kernel insns/op", k.Release, k.Version, count(v.Value))}
		if s, ok := to[i]; ok {
			m.Class += " " + stepClass(s.Delta)
			m.Title += fmt.Sprintf(", %s from %s", signed(s.Delta), pg.Kernels[s.From].Release)
		}
		p.Path += fmt.Sprintf("%s%v,%v", cmp.Or(map[bool]string{true: "M"}[p.Path == ""], " L"), m.X, m.Y)
		p.Points = append(p.Points, m)
	}
	return p
}

var historyTmpl = template.Must(template.New("history").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f3f3f3}td.k{text-align:left;white-space:nowrap}
td.up,span.up{background:#fde0dc;color:#a40000}td.down,span.down{background:#dcf3e0;color:#006b1f}
a{color:inherit}small{color:#666}svg{display:block;margin:.5em 0}
circle.pt{fill:#1f77b4}circle.up{fill:#d62728;r:5}circle.down{fill:#2ca02c;r:5}
.fn td{border:none;padding:0 6px;font:12px monospace}
</style></head><body>
<h1>{{.Title}}</h1>
<p>Exact kernel instructions per operation (kinsns/op, counted under TCG), {{len .Kernels}} kernels in version order,
{{.Steps}} steps between adjacent kernels (red: more instructions, green: fewer). Each count links to the boot it comes from.
Reproduce: <code>{{.Command}}</code></p>
<h2 id="largest">Largest steps</h2>
<p>The three largest of each benchmark; every step is in its benchmark's section below.</p>
<table><tr><th>from</th><th>to</th><th>step</th><th>functions (from → to, change)</th></tr>
{{range .Largest}}{{template "step" .}}{{end}}</table>
<h2 id="table">Every kernel</h2>
<table><tr><th>kernel</th><th>version</th><th>suite</th>{{range .Heads}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr><td class="k">{{.K.Release}}</td><td class="k">{{.K.Version}}</td><td class="k">{{.K.Suite}}</td>
{{range .Cells}}{{if .Value}}<td class="{{.Class}}"><a href="{{.Link}}">{{.Value}}</a>{{if .Step}} <small>({{.Step}})</small>{{end}}</td>{{else}}<td{{if .Why}} title="{{.Why}}"{{end}}><small>{{.Missing}}</small></td>{{end}}{{end}}</tr>
{{end}}</table>
{{range .Plots}}<h2 id="{{.ID}}">{{.Bench}}</h2>
<svg xmlns="http://www.w3.org/2000/svg" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}" font-size="10">
<line x1="{{.L}}" y1="{{.B}}" x2="{{.R}}" y2="{{.B}}" stroke="#888"/><line x1="{{.L}}" y1="20" x2="{{.L}}" y2="{{.B}}" stroke="#888"/>
{{range .YTicks}}<text x="{{.X}}" y="{{.Y}}" text-anchor="end" dominant-baseline="middle">{{.Label}}</text>{{end}}
{{range .XTicks}}<text transform="translate({{.X}},{{.Y}}) rotate(60)" font-size="8">{{.Label}}</text>{{end}}
<text x="14" y="{{.B}}" transform="rotate(-90 14 {{.B}})">kernel insns/op</text>
{{if .Path}}<path d="{{.Path}}" fill="none" stroke="#1f77b4" stroke-width="1.2"/>{{end}}
{{range .Points}}<a href="{{.Link}}"><circle class="{{.Class}}" cx="{{.X}}" cy="{{.Y}}" r="3"><title>{{.Title}}</title></circle></a>{{end}}
</svg>
<table><tr><th>from</th><th>to</th><th>step</th><th>functions (from → to, change)</th></tr>
{{range .Steps}}{{template "step" .}}{{else}}<tr><td colspan="4">no step: the same count on every kernel</td></tr>{{end}}</table>
{{end}}</body></html>
{{define "step"}}<tr><td class="k"><a href="{{.FromLink}}">{{.From}}</a></td><td class="k"><a href="{{.ToLink}}">{{.To}}</a></td><td class="{{.Class}}">{{.Delta}}</td>
<td class="k">{{if .NoProfile}}<small>no functions: a kernel counted without profile</small>{{else if .Unattributed}}<small>under the attribution threshold</small>{{else}}<table class="fn">{{range .Funcs}}<tr><td>{{.Name}}</td><td>{{printf "%.5g" .A}} → {{printf "%.5g" .B}}</td><td>{{printf "%+.4g" .Dx}}</td></tr>{{end}}</table>{{end}}</td></tr>
{{end}}`))
