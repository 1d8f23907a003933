package history

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"kharness/harness"
	"kharness/kernels"
	"kharness/results/stats"
	"kharness/results/store"
	"kharness/results/stream"
)

// historyPlainDir is where, inside a kernel's directory, the counted boots
// without profile go when no profiled boot of the kernel succeeded.
const historyPlainDir = "plain"

// historyPlain boots kernel c once more with the counting plugin out of
// profile mode (QEMU 7.2's TCG crashed some kernels only in profile mode:
// see docs/history.md), into DIR/<key>/plain, and records its counts
// without functions. why is the profiled boots' failure, kept in the
// record's reason.
func historyPlain(ctx context.Context, o HistoryOptions, c kernels.Candidate, dir string, why error, rec *HistoryRecord) error {
	cfg, err := harness.ParseConfig("history.toml", []byte(historyConfig(o, c, 1)))
	if err != nil {
		return err
	}
	run := o.Run
	run.Config, run.ConfigPath, run.OutDir, run.Insns, run.Jobs, run.Progress = cfg, "history.toml", filepath.Join(dir, historyPlainDir), "on", 1, nil
	if _, err := harness.Run(ctx, run); err != nil {
		return err
	}
	all, err := store.LoadBoots(run.OutDir)
	if err != nil {
		return err
	}
	rec.Benches, rec.Boots = rec.Benches[:0], 0
	for _, b := range all {
		if b.Status.OK() {
			rec.Boots++
		}
	}
	for _, alt := range strings.Split(o.Bench, "|") {
		re, err := regexp.Compile(alt)
		if err != nil {
			return err
		}
		vals, name, _, err := stats.BootSamples([]string{run.OutDir}, nil, re, stream.KernelInsnsUnit, stats.StatMedian, -1)
		if err != nil || len(vals) == 0 {
			continue
		}
		pt := HistoryPoint{Name: strings.TrimPrefix(name, "Benchmark"), Kinsns: vals[0], Boots: vals}
		for _, b := range all {
			if b.Status.OK() {
				pt.Boot, _ = filepath.Rel(o.Dir, b.Dir)
				break
			}
		}
		rec.Benches = append(rec.Benches, pt)
	}
	if len(rec.Benches) == 0 {
		return fmt.Errorf("%w; counted without profile, no benchmark had a count (see %s)", why, run.OutDir)
	}
	rec.Reason = fmt.Sprintf("profiled boots: %v; counts from a boot without profile, no functions", why)
	return nil
}
