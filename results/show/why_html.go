package show

import (
	"fmt"
	"math"

	"kharness/results/stats"
	"kharness/results/stream"
)

// whyChartView is one called exact cell's attribution as a diverging bar
// chart: one bar a part (WhyParts), right of the axis for instructions
// added, left for instructions saved.
type whyChartView struct {
	Caption string
	W, H    px
	Axis    px // the x of zero
	Bars    []whyBarView
}

// whyBarView is one bar of a whyChartView.
type whyBarView struct {
	Name, Value   string
	Y, TextY      px
	X, Width      px
	ValueX        px
	Class, Anchor string
}

// Layout of a why chart: the names' column, then the bars' span either
// side of the axis, one row a part.
const (
	whyNameW = 260
	whyHalf  = 130
	whyRow   = 16
	whyPad   = 4
)

// whyChart is the chart of cell c, compared in column col.
func whyChart(c stats.Cell, col, unit string) whyChartView {
	parts := WhyParts(c.Why)
	v := whyChartView{
		Caption: fmt.Sprintf("%s %s %s, by kernel function (from the profiled boots)", stream.Printable(col, 80), Signed(c.Delta), unit),
		W:       whyNameW + 2*whyHalf + 60, H: px(whyPad*2 + whyRow*max(len(parts), 1)), Axis: whyNameW + whyHalf + 30,
	}
	top := 0.0
	for _, p := range parts {
		top = max(top, math.Abs(p.Delta))
	}
	for i, p := range parts {
		b := whyBarView{Name: p.Name, Value: Signed(p.Delta), Y: px(whyPad + whyRow*i + 2), TextY: px(whyPad + whyRow*i + 12), Class: "up", Anchor: "start"}
		w := px(0)
		if top > 0 {
			w = px(math.Abs(p.Delta) / top * whyHalf)
		}
		b.X, b.Width, b.ValueX = v.Axis, w, v.Axis+w+3
		if p.Delta < 0 {
			b.X, b.Class, b.Anchor, b.ValueX = v.Axis-w, "down", "end", v.Axis-w-3
		}
		v.Bars = append(v.Bars, b)
	}
	return v
}

// whyCharts is the charts of row r's called cells that have a Why.
func whyCharts(t *stats.Table, r stats.Row) []whyChartView {
	var out []whyChartView
	for i, c := range r.Cells {
		if i > 0 && c.Why != nil {
			out = append(out, whyChart(c, t.Columns[i], r.Unit))
		}
	}
	return out
}
