package stats

import (
	"fmt"
	"kharness/results/stream"
	"math"
	"strings"

	"github.com/aclements/go-moremath/stats"
)

// Planning from the host's measured noise: how many boots a side a
// comparison needs to call a change of a given size, from the spread
// between boots this host has shown. A user about to compare two kernels
// on a busy laptop learns whether 5 boots can see a 3% change at all
// before spending an hour on them.

// detectPower is the chance of calling a real change of the planned size.
const detectPower = 0.8

// mannWhitneyARE is the Mann-Whitney test's efficiency against the t test
// for normally distributed data (3/π): it needs about 5% more boots.
const mannWhitneyARE = 3 / math.Pi

// minBootsFor is the fewest boots a side at which a two-sided
// Mann-Whitney test can reach a p-value below alpha at all: the smallest p
// of n against n is 2/C(2n, n) (3 boots: 0.1; 4: 0.029; 5: 0.008).
func minBootsFor(alpha float64) int {
	for n := 2; n < 64; n++ {
		if 2/binom(2*n, n) < alpha {
			return n
		}
	}
	return 64
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// BootsToDetect is the boots a side a two-sided Mann-Whitney test at
// alpha needs to call a change of delta (a fraction of the median) with
// power 0.8, where boots spread with relative standard deviation cv: the
// normal-theory 2·(z[1-α/2] + z[0.8])²·(cv/δ)², over the test's efficiency,
// and never fewer than minBootsFor(alpha). 0 if cv or delta is not a
// positive number.
func BootsToDetect(cv, delta, alpha float64) int {
	if !(cv >= 0) || !(delta > 0) || math.IsInf(cv, 0) || alpha <= 0 || alpha >= 1 {
		return 0
	}
	z := stats.NormalDist{Mu: 0, Sigma: 1}
	za, zb := z.InvCDF(1-alpha/2), z.InvCDF(detectPower)
	n := 2 * (za + zb) * (za + zb) * (cv / delta) * (cv / delta) / mannWhitneyARE
	return max(minBootsFor(alpha), int(math.Ceil(n)))
}

// relSpread is the spread of per-boot values as a fraction of their
// median: 1.4826 times the median absolute deviation (the standard
// deviation, for normal data, without letting one slow boot dominate).
// NaN with fewer than 3 values or a median of 0.
func relSpread(vals []float64) float64 {
	if len(vals) < 3 {
		return math.NaN()
	}
	m := Median(vals)
	if m == 0 {
		return math.NaN()
	}
	dev := make([]float64, len(vals))
	for i, v := range vals {
		dev[i] = math.Abs(v - m)
	}
	return 1.4826 * Median(dev) / math.Abs(m)
}

// DetectLines are the footer's plan: for each timed row, the widest spread
// between boots among its cells and the boots a side that spread needs to
// call a change of t.Detect.
func (t *Table) DetectLines() []string {
	if t.Detect <= 0 {
		return nil
	}
	var out []string
	for _, r := range t.Rows {
		if stream.ExactUnit(r.Unit) {
			continue
		}
		worst := math.NaN()
		for _, c := range r.Cells {
			if !math.IsNaN(c.Spread) && !(c.Spread <= worst) {
				worst = c.Spread
			}
		}
		if math.IsNaN(worst) {
			out = append(out, fmt.Sprintf("  %s %s: fewer than 3 boots in every cell: no spread measured yet", r.Benchmark, r.Key))
			continue
		}
		out = append(out, fmt.Sprintf("  %s %s: boots spread %.1f%% → %d boots a side", r.Benchmark, r.Key, 100*worst, BootsToDetect(worst, t.Detect, t.Alpha)))
	}
	if len(out) == 0 {
		return nil
	}
	head := fmt.Sprintf("to call a %s%% change (α %g, power %.0f%%, from this host's spread between boots):",
		strings.TrimSuffix(fmt.Sprintf("%.2f", 100*t.Detect), ".00"), t.Alpha, 100*detectPower)
	return append([]string{head}, out...)
}
