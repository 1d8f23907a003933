package bisect

import "testing"

// TestJudgeTreeExact: a counted step is bad only when its count moves in
// the direction asked by more than the threshold (instructions or a
// share of the reference's), and skipped when its boots disagree.
func TestJudgeTreeExact(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ref, step []float64
		th        CountThreshold
		fewer     bool
		bad, skip bool
	}{
		{"same count", []float64{325}, []float64{325}, DefaultCountThreshold, false, false, false},
		{"rounding", []float64{325}, []float64{326.5}, DefaultCountThreshold, false, false, false},
		{"+3 over 2", []float64{325}, []float64{328}, DefaultCountThreshold, false, true, false},
		{"+41", []float64{187}, []float64{228}, DefaultCountThreshold, false, true, false},
		{"fewer is not worse", []float64{325}, []float64{300}, DefaultCountThreshold, false, false, false},
		{"fewer asked for", []float64{325}, []float64{300}, DefaultCountThreshold, true, true, false},
		{"more with fewer asked", []float64{325}, []float64{400}, DefaultCountThreshold, true, false, false},
		{"percent below", []float64{1000}, []float64{1009}, CountThreshold{Frac: 0.01}, false, false, false},
		{"percent above", []float64{1000}, []float64{1011}, CountThreshold{Frac: 0.01}, false, true, false},
		{"step boots disagree", []float64{325}, []float64{325, 400}, DefaultCountThreshold, false, false, true},
		{"reference boots disagree", []float64{325, 340}, []float64{400}, DefaultCountThreshold, false, false, true},
	} {
		v := JudgeTreeExact(tc.ref, tc.step, tc.th, tc.fewer)
		if v.Bad != tc.bad || v.Skip != tc.skip || v.Reason == "" {
			t.Errorf("%s: %+v; want bad %v skip %v", tc.name, v, tc.bad, tc.skip)
		}
	}
}

// TestJudgeTreeStepBand: a timed step is bad only when called slower by
// more than the threshold; slower by more than half of it without a call
// is a skip, as are too few boots; nearer the reference it is good.
func TestJudgeTreeStepBand(t *testing.T) {
	ref := []float64{400, 410, 405, 395, 402}
	scale := func(k float64) []float64 {
		out := make([]float64, len(ref))
		for i, x := range ref {
			out[i] = x * k
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		ref, step []float64
		bad, skip bool
	}{
		{"same", ref, scale(1.01), false, false},
		{"x3 called", ref, scale(3), true, false},
		{"x1.3 in the band", ref, scale(1.3), false, true},
		{"x3 over too few", ref[:2], scale(3)[:2], false, true},
		{"x3 not significant", []float64{400, 1300, 420, 1250, 410}, []float64{1200, 380, 1220, 1210, 1190}, false, true},
	} {
		v := JudgeTreeStep(tc.ref, tc.step, 0.05, 0.5)
		if v.Bad != tc.bad || v.Skip != tc.skip {
			t.Errorf("%s: %+v; want bad %v skip %v", tc.name, v, tc.bad, tc.skip)
		}
	}
}
