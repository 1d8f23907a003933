package nightly

import (
	"os"
	"path/filepath"

	"kharness/harness/vm"
	"kharness/kernels"
	"kharness/results/show"
	"kharness/results/stats"
	"kharness/results/store"
)

// nightlyFindingsDir is where, in a kernel's run directory of the history,
// nightly writes the findings of that kernel against the one before it.
const nightlyFindingsDir = "findings"

// nightlyBefore is the kernel of history that came before rec's: of the
// complete kernels of the same [[kernel]] entry (Watch), the newest
// version older than rec's (or, where a version is missing, the last run
// before it). "" when there is none.
func nightlyBefore(history string, rec *NightlyRecord) (string, error) {
	ents, err := os.ReadDir(history)
	if err != nil {
		return "", err
	}
	var best *NightlyRecord
	for _, e := range ents {
		var r NightlyRecord
		if err := store.ReadJSON(filepath.Join(history, e.Name(), nightlyFile), &r); err != nil {
			continue // not a kernel of the history, or not finished
		}
		if r.Status != "complete" || r.Watch != rec.Watch || r.Kernel.Label == rec.Kernel.Label || !nightlyOlder(&r, rec) {
			continue
		}
		if best == nil || nightlyOlder(best, &r) {
			best = &r
		}
	}
	if best == nil {
		return "", nil
	}
	return best.Kernel.Label, nil
}

// nightlyOlder reports whether a's kernel comes before b's: by package
// version where both have one, else by when they ran.
func nightlyOlder(a, b *NightlyRecord) bool {
	if a.Kernel.Version != "" && b.Kernel.Version != "" {
		if c := kernels.CompareVersions(a.Kernel.Version, b.Kernel.Version); c != 0 {
			return c < 0
		}
	}
	return a.Started.Before(b.Started)
}

// nightlyFindings compares rec's kernel, just run into the history, with
// the kernel before it (nightlyBefore) on every boot config, and writes
// one finding report a called exact change into the new kernel's
// findings directory. It returns the reports' paths: none where no count
// moved, or where there is no kernel before.
func nightlyFindings(history string, rec *NightlyRecord) ([]string, error) {
	before, err := nightlyBefore(history, rec)
	if err != nil || before == "" {
		return nil, err
	}
	dirs := []string{filepath.Join(history, before), filepath.Join(history, rec.Kernel.Label)}
	tab, err := stats.Compare(dirs, stats.CompareOptions{Column: "kernel"})
	if err != nil {
		return nil, err
	}
	boots, err := store.LoadBoots(dirs...)
	if err != nil {
		return nil, err
	}
	repro := []string{vm.QuoteArgv([]string{"kharness", "compare", "-col", "kernel", dirs[0], dirs[1]})}
	return show.WriteFindings(filepath.Join(dirs[1], nightlyFindingsDir), show.Findings(tab, boots, repro))
}
