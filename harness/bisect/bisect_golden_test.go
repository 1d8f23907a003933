package bisect

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"kharness/internal/golden"
)

// TestWriteBisectGolden pins the bisect table: an exact bisection shaped
// like the 6.16.3 → 7.3.4 one (steps, partial kernels and the verdict),
// and a timed one that stopped undecided.
func TestWriteBisectGolden(t *testing.T) {
	labels := []string{"6.16.3", "6.17.8", "7.0.4", "7.0.10", "7.0.13", "7.1.3", "7.1.7", "7.3.4"}
	step := func(i, boots int, m float64, verdict string) BisectStep {
		return BisectStep{Index: i, Label: labels[i], Boots: boots, Median: m, Verdict: verdict,
			GoodB: 2, BadB: 2, GoodM: 292, BadM: 333, RatioToGood: m / 292, RatioToBadly: m / 333}
	}
	exact := &BisectResult{Labels: labels, FirstBad: 5, Lo: 4, Hi: 5, Steps: []BisectStep{
		step(0, 2, 292, "endpoint"), step(7, 2, 333, "endpoint"), step(3, 2, 296, "good*"),
		step(6, 2, 335, "bad*"), step(4, 2, 296, "good*"), step(5, 2, 335, "bad*"),
	}}
	timed := &BisectResult{Labels: labels, FirstBad: -1, Lo: 0, Hi: 7, Reason: "7.0.10 differs from neither endpoint after 15 boots (p=0.41 and p=0.22)", Steps: []BisectStep{
		{Index: 0, Label: labels[0], Boots: 15, Median: 452e-9, Verdict: "endpoint", PGood: 1, PBad: 0.003, GoodM: 452e-9, BadM: 481e-9, RatioToGood: 1},
		{Index: 7, Label: labels[7], Boots: 15, Median: 481e-9, Verdict: "endpoint", PGood: 0.003, PBad: 1, GoodM: 452e-9, BadM: 481e-9, RatioToGood: 481.0 / 452},
		{Index: 3, Label: labels[3], Boots: 15, Median: 466e-9, Verdict: "undecided", PGood: 0.41, PBad: 0.22, GoodM: 452e-9, BadM: 481e-9, RatioToGood: 466.0 / 452},
	}}
	var out bytes.Buffer
	WriteBisect(&out, exact, "kinsns/op", 4*time.Minute+53*time.Second)
	out.WriteString("----\n")
	WriteBisect(&out, timed, "sec/op", 2*time.Minute+39*time.Second)
	golden.Check(t, filepath.Join("testdata", "bisect.golden"), out.Bytes())
}
