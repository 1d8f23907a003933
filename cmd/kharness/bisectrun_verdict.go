package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"kharness/harness/bisect"
	"kharness/results/stats"
)

// attributionTop is how many functions a bad counted step names.
const attributionTop = 5

// verdict prints the step's line and returns its exit: the number and run
// directory with -measure, else good, bad or skip against ref (nil: the
// one number of -ref-ns).
func (f *bisectRunFlags) verdict(step *bisect.TreeStep, ref *bisect.Reference, stdout, stderr io.Writer) error {
	for i, w := range step.Build.Warnings {
		if i == 5 {
			fmt.Fprintf(stderr, "bisect-run: and %d more config changes (see %s)\n", len(step.Build.Warnings)-i, step.Build.Kernel.ConfigPath)
			break
		}
		fmt.Fprintf(stderr, "bisect-run: olddefconfig set %s\n", w)
	}
	exact := step.Metric != bisect.MetricTime
	head := stepHead(step, f.boots)
	want := f.boots
	if exact {
		want = 1
	}
	if len(step.Values) == 0 || (!exact && len(step.Values)*2 <= want) {
		fmt.Fprintf(stderr, "%s: too few boots with a number: skip\n", head)
		why := "every sample set aside by the host guard (see compare's guard line)"
		if exact {
			why = "no exact count: the count phase's stretches did not agree (each boot's boot.bench says why, under " + step.Dir + ")"
		}
		if len(step.Bad) > 0 {
			why = strings.Join(step.Bad, "; ")
		}
		return &exitError2{bisectSkip, fmt.Errorf("%d boots gave no number: %s", step.Failed, why)}
	}
	value, unit := stats.Median(step.Values), step.Unit
	if !exact {
		value, unit = statOf(f.stat, step.Values), "ns/op"
	}
	if f.measure {
		fmt.Fprintf(stderr, "%s: %s %.2f %s; as a reference: -ref %s\n", head, f.bench, value, unit, step.Dir)
		fmt.Fprintf(stdout, "%s %.2f %s %s\n", step.Build.Commit, value, unit, step.Dir)
		return nil
	}
	var v bisect.TreeVerdict
	var refDesc string
	switch {
	case exact:
		v = bisect.JudgeTreeExact(ref.Values, step.Values, f.countThreshold, f.direction == "fewer")
		refDesc = fmt.Sprintf("reference %.2f (%s)", stats.Median(ref.Values), ref.Dir)
	case ref == nil:
		v = bisect.JudgeTreeStep([]float64{f.refNS}, []float64{value}, 0.05, f.timeThreshold)
		refDesc = fmt.Sprintf("reference %.1f ns/op", f.refNS)
	default:
		v = bisect.JudgeTreeStep(step.RefValues, step.Values, 0.05, f.timeThreshold)
		refDesc = fmt.Sprintf("the reference's kernel beside it %s %.1f (%d boots, from %s)", f.stat, statOf(f.stat, step.RefValues), len(step.RefValues), ref.Dir)
	}
	verdict, code := "good", bisectGood
	switch {
	case v.Skip:
		verdict, code = "skip", bisectSkip
	case v.Bad:
		verdict, code = "bad", bisectBad
	}
	fmt.Fprintf(stderr, "%s: %s %.2f %s vs %s: %s: %s\n", head, f.bench, value, unit, refDesc, v.Reason, verdict)
	if exact && (v.Bad || v.Skip) {
		writeTreeAttribution(stderr, step, ref, f.bench)
	}
	if code == bisectGood {
		return nil
	}
	return &exitError2{code, nil}
}

// writeTreeAttribution prints the functions that account for a counted
// step's difference from its reference, or why there are none.
func writeTreeAttribution(w io.Writer, step *bisect.TreeStep, ref *bisect.Reference, bench string) {
	prefix := "bisect-run " + short(step.Build.Commit)
	a, err := bisect.TreeAttribution(ref.Dir, ref.Cell, step.Dirs, bench)
	if err != nil {
		fmt.Fprintf(w, "%s: no attribution: %v\n", prefix, err)
		return
	}
	fmt.Fprintf(w, "%s: kernel insns/op %.2f vs reference %.2f (%+.2f), by function:\n", prefix, a.B, a.A, a.B-a.A)
	for i, fc := range a.Funcs {
		if i == attributionTop || math.Abs(fc.Delta) < 0.005 {
			break
		}
		fmt.Fprintf(w, "%s:   %+9.2f  %-32s %.2f -> %.2f\n", prefix, fc.Delta, fc.Name, fc.A, fc.B)
	}
}

func statOf(stat string, xs []float64) float64 {
	if stat == "min" && len(xs) > 0 {
		return slices.Min(xs)
	}
	return stats.Median(xs)
}

// stepHead is the start of a step's log line: the commit, the build and
// each boot's number.
func stepHead(step *bisect.TreeStep, boots int) string {
	built := fmt.Sprintf("built in %.1fs", step.Build.Duration.Seconds())
	if step.Build.Cached {
		built = "build cached"
	}
	each := make([]string, len(step.Values))
	for i, m := range step.Values {
		each[i] = fmt.Sprintf("%.0f", m)
		if step.Metric != bisect.MetricTime {
			each[i] = fmt.Sprintf("%.2f", m)
		}
	}
	n := fmt.Sprintf("boots %d/%d ok", len(step.Values), boots)
	if step.Metric != bisect.MetricTime {
		n = fmt.Sprintf("%d of %d boots counted", len(step.Values), len(step.Values)+step.Failed)
	}
	return fmt.Sprintf("bisect-run %s: %s, %s [%s] (%s, %s, load %s)", short(step.Build.Commit), built, n, strings.Join(each, " "), step.Accel, step.Metric, loadAvg())
}
