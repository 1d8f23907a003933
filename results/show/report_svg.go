package show

import (
	"fmt"
	"kharness/results/stats"
	"kharness/results/stream"
	"math"
	"slices"
	"strconv"
	"strings"
)

// px is an SVG coordinate; it prints with one decimal.
type px float64

func (p px) String() string { return strconv.FormatFloat(float64(p), 'f', 1, 64) }

// plotView is one benchmark's plot: the geometry of an SVG drawn by the
// report's template.
type plotView struct {
	ID, Benchmark, Unit, YLabel string
	W, H, MidX, MidY, AxisY     px
	L, T, R, B, FW, FH          px // the frame's edges, width and height
	YTicks, XTicks              []tick
	Series                      []seriesView
}

// tick is an axis tick: its label at (X, Y), a second line at Y2.
type tick struct {
	X, Y, Y2   px
	Label, Sub string
}

// seriesView is one config's marks on a plot.
type seriesView struct {
	Name, Color      string
	LegendX, LegendY px // the legend's swatch; its text follows
	TextX            px
	Path             string // the medians, joined across kernels
	Points           []mark // each ok boot's median
	Medians          []mark // each cell's median and its interval
	Failed           []mark // cells whose every boot failed
}

// mark is a point at (X, Y), a horizontal bar from X1 to X2 and an
// interval from Lo to Hi, with a tooltip.
type mark struct {
	X, X1, X2, Y, Lo, Hi px
	Title                string
}

// seriesColors are distinct colours for the configs, which cycle after the
// eighth; none is the red or green of the table's calls.
var seriesColors = []string{"#1f77b4", "#ff7f0e", "#9467bd", "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f"}

// Plot size and margins.
const (
	plotW, plotH                       = 780, 360
	marginL, marginR, marginT, marginB = 92, 20, 36, 60
)

// makePlots lays out one plot for each benchmark and unit of t.
func makePlots(t *stats.Table, ax axes, meds map[cellKey][]bootPoint) []plotView {
	cells := make(map[cellKey]stats.Cell)
	var keys []stats.Key
	for _, r := range t.Rows {
		k := stats.Key{Name: r.Benchmark, Unit: r.Unit}
		if r.Unit == "" {
			continue // the placeholder row of a table without results
		}
		keys = stats.AppendNew(keys, k)
		for _, c := range r.Cells {
			cells[cellKey{c.Kernel, c.Config, k}] = c
		}
	}
	var plots []plotView
	for i, k := range keys {
		plots = append(plots, makePlot(fmt.Sprintf("plot-%d", i+1), k, ax, cells, meds))
	}
	return plots
}

func makePlot(id string, k stats.Key, ax axes, cells map[cellKey]stats.Cell, meds map[cellKey][]bootPoint) plotView {
	p := plotView{ID: id, Benchmark: k.Name, Unit: k.Unit, W: plotW, H: plotH,
		L: marginL, T: marginT, R: plotW - marginR, B: plotH - marginB}
	p.FW, p.FH, p.MidX, p.MidY, p.AxisY = p.R-p.L, p.B-p.T, (p.L+p.R)/2, (p.T+p.B)/2, p.H-6
	var vals []float64
	for _, kern := range ax.kernels {
		for _, conf := range ax.configs {
			ck := cellKey{kern, conf, k}
			for _, bp := range meds[ck] {
				vals = append(vals, bp.v)
			}
			if c := cells[ck]; c.Boots > 0 {
				vals = append(vals, c.Center, c.Lo, c.Hi)
			}
		}
	}
	ys := newYScale(vals, float64(p.T), float64(p.B))
	p.YLabel = k.Unit
	if ys.log {
		p.YLabel += " (log scale)"
	}
	for _, v := range ys.ticks() {
		p.YTicks = append(p.YTicks, tick{X: p.L - 6, Y: ys.y(v), Label: tickLabel(v, k.Unit)})
	}
	band := float64(p.FW) / float64(max(len(ax.kernels), 1))
	step := min(band*0.6/float64(max(len(ax.configs), 1)), 44)
	for i, kern := range ax.kernels {
		x := float64(p.L) + band*(float64(i)+0.5)
		p.XTicks = append(p.XTicks, tick{X: px(x), Y: p.B + 18, Y2: p.B + 33, Label: kern, Sub: ax.releases[kern]})
	}
	legendX := float64(p.L)
	for j, conf := range ax.configs {
		s := seriesView{Name: conf, Color: seriesColors[j%len(seriesColors)], LegendX: px(legendX), LegendY: 14}
		if cl := ax.cmdlines[conf]; cl != "" && cl != conf {
			s.Name += " (" + stream.Printable(cl, 40) + ")"
		}
		s.TextX = s.LegendX + 16
		legendX += 16 + 7*float64(len([]rune(s.Name))) + 22
		var path []string
		for i, kern := range ax.kernels {
			x := float64(p.L) + band*(float64(i)+0.5) + (float64(j)-float64(len(ax.configs)-1)/2)*step
			ck := cellKey{kern, conf, k}
			c, pts := cells[ck], meds[ck]
			for n, bp := range pts {
				jx := x - 6 + (float64(n)-float64(len(pts)-1)/2)*min(8/float64(max(len(pts)-1, 1)), 2.5)
				s.Points = append(s.Points, mark{X: px(jx), Y: ys.y(bp.v),
					Title: fmt.Sprintf("%s, %s, boot %d attempt %d: %s", kern, conf, bp.boot.Boot, bp.boot.Attempt, FormatValue(bp.v, k.Unit))})
			}
			switch {
			case c.Boots > 0:
				m := mark{X: px(x + 4), X1: px(x - 2), X2: px(x + 10), Y: ys.y(c.Center), Lo: ys.y(c.Lo), Hi: ys.y(c.Hi),
					Title: fmt.Sprintf("%s, %s: median %s over %d boots, interval [%s, %s]", kern, conf,
						FormatValue(c.Center, k.Unit), c.Boots, FormatValue(c.Lo, k.Unit), FormatValue(c.Hi, k.Unit))}
				s.Medians = append(s.Medians, m)
				cmd := "L"
				if len(path) == 0 {
					cmd = "M"
				}
				path = append(path, fmt.Sprintf("%s%s %s", cmd, m.X, m.Y))
			case c.Failed > 0:
				s.Failed = append(s.Failed, mark{X: px(x), Y: p.B - 8,
					Title: fmt.Sprintf("%s, %s: all %d boots failed; %s", kern, conf, c.Failed, stream.Printable(c.Reason, 300))})
			}
		}
		s.Path = strings.Join(path, " ")
		p.Series = append(p.Series, s)
	}
	return p
}

// yScale maps values to SVG y coordinates, linearly or, for values that
// span a factor of 8 or more, logarithmically.
type yScale struct {
	lo, hi      float64 // the domain, in log10 if log
	log         bool
	top, bottom float64
}

func newYScale(vals []float64, top, bottom float64) yScale {
	s := yScale{lo: 0, hi: 1, top: top, bottom: bottom}
	vals = slices.DeleteFunc(slices.Clone(vals), func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) })
	if len(vals) == 0 {
		return s
	}
	lo, hi := slices.Min(vals), slices.Max(vals)
	if lo > 0 && hi/lo >= 8 {
		s.log, lo, hi = true, math.Log10(lo), math.Log10(hi)
	} else if lo == hi {
		d := math.Max(math.Abs(lo)*0.1, 1e-12)
		lo, hi = lo-d, hi+d
	}
	pad := (hi - lo) * 0.08
	s.lo, s.hi = lo-pad, hi+pad
	return s
}

// y returns the coordinate of value v.
func (s yScale) y(v float64) px {
	if s.log {
		v = math.Log10(v)
	}
	return px(s.bottom - (v-s.lo)/(s.hi-s.lo)*(s.bottom-s.top))
}

// ticks returns values to label the axis with: 1, 2 and 5 times powers of
// ten on a log scale (only the powers if that gives too many), multiples
// of a round step on a linear one.
func (s yScale) ticks() []float64 {
	var ts []float64
	if s.log {
		for _, ms := range [][]float64{{1, 2, 5}, {1}} {
			ts = nil
			for e := math.Floor(s.lo); e <= math.Ceil(s.hi); e++ {
				for _, m := range ms {
					if v := m * math.Pow(10, e); math.Log10(v) >= s.lo && math.Log10(v) <= s.hi {
						ts = append(ts, v)
					}
				}
			}
			if len(ts) <= 10 {
				break
			}
		}
		return ts
	}
	step := niceStep((s.hi - s.lo) / 5)
	for v := math.Ceil(s.lo/step) * step; v <= s.hi; v += step {
		ts = append(ts, v)
	}
	return ts
}

// niceStep returns 1, 2 or 5 times a power of ten, at least x.
func niceStep(x float64) float64 {
	e := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5} {
		if x <= m*e*(1+1e-9) {
			return m * e
		}
	}
	return 10 * e
}

// tickLabel formats v like the table, without trailing zeros: "500ns",
// "2.5µs".
func tickLabel(v float64, unit string) string {
	s := FormatValue(v, unit)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' && r != '-' })
	if i < 0 {
		i = len(s)
	}
	num := s[:i]
	if strings.Contains(num, ".") {
		num = strings.TrimRight(strings.TrimRight(num, "0"), ".")
	}
	return num + s[i:]
}
