package show

import "html/template"

// reportTemplate renders a reportView. It uses no script and fetches
// nothing: the style sheet is inline, the plots are inline SVG and the
// fonts are the viewer's own.
var reportTemplate = template.Must(template.New("report").Parse(reportHTML))

const reportCSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 24px 32px; max-width: 1400px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 2px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta, .help { color: #555; margin: 2px 0; }
nav a { margin-right: 14px; }
code, pre, .num, .ci { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; }
.plots { display: flex; flex-wrap: wrap; gap: 8px 24px; }
figure { margin: 8px 0; }
figcaption { font-weight: 600; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
figcaption .unit { font-weight: normal; color: #666; }
svg.plot { background: #fff; }
svg .frame { fill: #fcfcfc; stroke: #bbb; }
svg .grid { stroke: #e6e6e6; }
svg text { font: 11px system-ui, sans-serif; }
svg text:not([fill]) { fill: #333; }
svg .ytick { text-anchor: end; dominant-baseline: middle; }
svg .xtick { text-anchor: middle; font-size: 12px; font-weight: 600; }
svg .xsub { text-anchor: middle; fill: #777; }
svg .legend { font-size: 12px; dominant-baseline: middle; }
svg .axis { fill: #555; text-anchor: middle; }
svg .failed { font-size: 14px; font-weight: 700; text-anchor: middle; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
th { background: #f4f4f4; font-weight: 600; }
td.num { text-align: right; }
.reason { font-family: system-ui, sans-serif; color: #a00; font-size: 12px; max-width: 24em; text-align: left; }
td.call { white-space: nowrap; }
tr.why td { border-top: none; }
figure.why { margin: 0.2em 0 0.6em 1.5em; }
figure.why figcaption { font-size: 85%; color: #555; }
figure.why text { font: 11px monospace; }
figure.why rect.up { fill: #c0392b; }
figure.why rect.down { fill: #27ae60; }
figure.why line.axis { stroke: #888; }
.regression { background: #fde2e2; color: #a50000; }
.improvement { background: #dcf3e2; color: #11662e; }
.same { color: #777; }
tr.failed td { background: #fff4f4; }
tr.failed .status { color: #a00; font-weight: 600; }
.notes { color: #444; font-size: 13px; padding-left: 0; list-style: none; }
.warn { color: #8a5a00; }
.rel { color: #777; font-weight: normal; }
details pre { background: #f7f7f7; padding: 6px; max-height: 20em; overflow: auto; white-space: pre-wrap; }
`

const reportHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>` + reportCSS + `</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="meta">runs: {{range $i, $r := .Runs}}{{if $i}}, {{end}}<code>{{$r}}</code>{{end}}</p>
<p class="meta">{{.Setup}}</p>
<nav><a href="#plots">plots</a><a href="#comparison">comparison</a>{{range .Sections}}<a href="#{{.ID}}">{{.Title}}</a>{{end}}<a href="#boots">boots</a></nav>

<h2 id="plots">Per-boot medians by kernel</h2>
<p class="help">Kernels in version order. Each dot is one boot's median of its samples; the bar is the median over boots and the band its {{.Conf}}% confidence interval (the range over boots when there are too few boots for one); ✕ marks a cell whose every boot failed. Hover for values.</p>
<div class="plots">
{{range $p := .Plots}}<figure id="{{.ID}}">
<figcaption>{{.Benchmark}} <span class="unit">{{.Unit}}</span></figcaption>
<svg class="plot" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}" role="img" aria-label="{{.Benchmark}} {{.Unit}}">
<rect class="frame" x="{{.L}}" y="{{.T}}" width="{{.FW}}" height="{{.FH}}"/>
{{range .YTicks}}<line class="grid" x1="{{$p.L}}" x2="{{$p.R}}" y1="{{.Y}}" y2="{{.Y}}"/><text class="ytick" x="{{.X}}" y="{{.Y}}">{{.Label}}</text>
{{end}}{{range .XTicks}}<text class="xtick" x="{{.X}}" y="{{.Y}}">{{.Label}}</text><text class="xsub" x="{{.X}}" y="{{.Y2}}">{{.Sub}}</text>
{{end}}<text class="axis" transform="rotate(-90 16 {{.MidY}})" x="16" y="{{.MidY}}">{{.YLabel}}</text>
<text class="axis" x="{{.MidX}}" y="{{.AxisY}}">kernel (version order)</text>
{{range $s := .Series}}<g class="series">
<rect x="{{.LegendX}}" y="{{.LegendY}}" width="12" height="12" transform="translate(0 -6)" fill="{{.Color}}"/><text class="legend" x="{{.TextX}}" y="{{.LegendY}}">{{.Name}}</text>
{{if .Path}}<path d="{{.Path}}" fill="none" stroke="{{.Color}}" stroke-width="1.5" stroke-opacity="0.55"/>{{end}}
{{range .Medians}}<g><title>{{.Title}}</title><line x1="{{.X}}" x2="{{.X}}" y1="{{.Lo}}" y2="{{.Hi}}" stroke="{{$s.Color}}" stroke-width="10" stroke-opacity="0.3"/><line x1="{{.X1}}" x2="{{.X2}}" y1="{{.Y}}" y2="{{.Y}}" stroke="{{$s.Color}}" stroke-width="3"/></g>
{{end}}{{range .Points}}<circle cx="{{.X}}" cy="{{.Y}}" r="4" fill="{{$s.Color}}" fill-opacity="0.7" stroke="#fff" stroke-width="0.5"><title>{{.Title}}</title></circle>
{{end}}{{range .Failed}}<text class="failed" x="{{.X}}" y="{{.Y}}" fill="{{$s.Color}}"><title>{{.Title}}</title>✕ failed</text>
{{end}}</g>
{{end}}</svg>
</figure>
{{end}}</div>

<h2 id="comparison">Comparison</h2>
<p class="help">Columns: {{.Table.Column}}{{if gt (len .Table.Columns) 1}}; ratios, p-values (Mann-Whitney U over boots) and calls against {{index .Table.Columns 0}}. A change is called a regression or an improvement where p &lt; {{.Alpha}} and the median moved by more than {{.Threshold}}%, ~ otherwise (higher is better for rates, lower for other units){{end}}. n = boots per cell; ± is the {{.Conf}}% CI of the median over boots.</p>
<table class="cmp">
<thead><tr><th>benchmark</th><th>unit</th><th>{{.Table.Row}}</th>{{range .Header}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr><td><code>{{.Benchmark}}</code></td><td>{{.Unit}}</td><td>{{.Key}}</td>{{range $i, $c := .Cells}}<td class="num" title="{{.Title}}">{{.Median}}{{if .Failed}}<div class="reason">{{.Failed}}</div>{{end}}</td><td class="ci">{{.CI}}</td><td>{{.N}}</td>{{if $i}}<td class="call {{.Class}}">{{.Ratio}} <b>{{.Call}}</b></td>{{end}}{{end}}</tr>
{{if .Why}}<tr class="why"><td colspan="{{.Span}}">{{range .Why}}<figure class="why"><figcaption>{{.Caption}}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="{{.W}}" height="{{.H}}" role="img" aria-label="{{.Caption}}"><line x1="{{.Axis}}" x2="{{.Axis}}" y1="0" y2="{{.H}}" class="axis"/>{{range .Bars}}<text x="0" y="{{.TextY}}">{{.Name}}</text><rect x="{{.X}}" y="{{.Y}}" width="{{.Width}}" height="12" class="{{.Class}}"/><text x="{{.ValueX}}" y="{{.TextY}}" text-anchor="{{.Anchor}}">{{.Value}}</text>{{end}}</svg></figure>{{end}}</td></tr>
{{end}}{{end}}</tbody>
</table>
<p class="meta">{{.Setup}}</p>
{{if .Notes}}<ul class="notes">{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{with .Table.Guard}}<p class="guard">{{.}}</p>{{end}}
{{range .Table.Warnings}}<p class="warn">warning: {{.}}</p>
{{end}}
{{range .Sections}}<section id="{{.ID}}">
<h2>{{.Title}}</h2>
{{.Body}}
</section>
{{end}}
<h2 id="boots">Boots</h2>
<p class="help">Every committed attempt, failed ones included, with its kernel console and the QEMU command line that started it.</p>
{{range .Cells}}<h3 id="{{.ID}}">{{.Kernel}} <span class="rel">{{.Release}}</span> × {{.Config}}{{if .Cmdline}} <code>{{.Cmdline}}</code>{{end}}</h3>
<table class="boots">
<thead><tr><th>boot</th><th>attempt</th><th>status</th>{{range $.BenchCols}}<th>{{.}}</th>{{end}}<th>wall</th><th>load</th><th>files</th><th>reason</th></tr></thead>
<tbody>
{{range .Boots}}<tr class="{{.Class}}"><td>{{.Boot}}</td><td>{{.Attempt}}</td><td class="status">{{.Status}}</td>{{range .Values}}<td class="num">{{.}}</td>{{end}}<td class="num">{{.Wall}}</td><td class="num">{{.Load}}</td><td>{{if .Console}}<a href="{{.Console}}">console.log</a>{{end}} {{if .Argv}}<a href="{{.Argv}}">qemu.argv</a>{{end}}</td><td>{{.Reason}}{{if .Tail}}<details><summary>console tail</summary><pre>{{range .Tail}}{{.}}
{{end}}</pre></details>{{end}}</td></tr>
{{end}}</tbody>
</table>
{{end}}</body>
</html>
`
