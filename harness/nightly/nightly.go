// Package nightly runs the configured matrix on every newly published
// kernel, keeps each night's record in the history directory, and writes a
// finding report for a kernel whose exact count moved against the one
// before it.
package nightly

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"kharness/harness"
	"kharness/harness/vm"
	"kharness/internal/atomicfile"
	"kharness/kernels"
	"kharness/results/show"
	"kharness/results/stats"
	"kharness/results/store"

	"github.com/pelletier/go-toml/v2"
)

// NightlyOptions say where the history lives and how kernels run; the
// kernels are every package of each [[kernel]] family (or the one package)
// in Run.Config that apt knows now.
type NightlyOptions struct {
	History     string // one run directory a kernel, plus report.html
	RetryFailed bool   // run again kernels recorded as failed
	Run         harness.RunOptions
	// List lists the kernels of one [[kernel]] entry that Debian
	// publishes now; nil is DebianKernels. (Tests give a list that grows
	// between nights: Debian publishing a kernel is not an event a test
	// can cause.)
	List func(context.Context, harness.KernelConfig) ([]kernels.Candidate, error)
}

// DebianKernels lists the kernels of kc that Debian's index holds now:
// every package of its family (in the system's suites, or in the suites
// it names through the archive), or its one package.
func DebianKernels(cacheDir string, logf func(string, ...any)) func(context.Context, harness.KernelConfig) ([]kernels.Candidate, error) {
	return func(ctx context.Context, kc harness.KernelConfig) ([]kernels.Candidate, error) {
		switch {
		case kc.Family != "" && kc.Suite != "":
			// Watch the family in a Debian suite beyond the system's
			// lists ("all": every suite kharness knows).
			a, err := kernels.OpenArchive(cacheDir)
			if err != nil {
				return nil, err
			}
			a.Logf = logf
			return a.Family(ctx, kc.Family, kc.Flavour, kc.Suite)
		case kc.Family != "":
			return kernels.ListFamily(ctx, kc.Family, kc.Flavour)
		}
		c, err := kernels.Resolve(ctx, kc.Source())
		return []kernels.Candidate{c}, err
	}
}

// NightlyRecord is HISTORY/<kernel>/nightly.json: written when a kernel's
// run ends, so the next night knows it has been done.
type NightlyRecord struct {
	Kernel store.KernelInfo `json:"kernel"`
	Status string           `json:"status"` // "complete" or "failed"
	Reason string           `json:"reason,omitempty"`
	// Watch is the config's [[kernel]] entry the kernel came from: a new
	// kernel's findings are against the one before it of the same entry.
	Watch   string    `json:"watch,omitempty"`
	Started time.Time `json:"started"`
	Wall    float64   `json:"wall_seconds"`
}

// NightlyResult is what one night did.
type NightlyResult struct {
	Ran, Skipped, Failed []string
	// Findings holds the finding reports written: one a called exact
	// change of a new kernel against the kernel before it.
	Findings []string
	Report   string
	KCIDB    string // the history's results in KCIDB's JSON, beside Report
}

const nightlyFile = "nightly.json"

// Nightly runs the configured matrix on every kernel that has no results in
// the history yet, records each as complete or failed (a failed kernel is
// not retried unless asked), and regenerates the trend report over the whole
// history. With nothing new it runs nothing and says so.
func Nightly(ctx context.Context, opt NightlyOptions) (*NightlyResult, error) {
	cfg, p := opt.Run.Config, opt.Run.Progress
	if err := os.MkdirAll(opt.History, 0o755); err != nil {
		return nil, fmt.Errorf("creating history: %w", err)
	}
	var todo []nightlyTodo
	res := &NightlyResult{}
	list := opt.List
	if list == nil {
		list = DebianKernels(opt.Run.CacheDir, p.Logf)
	}
	for _, kc := range cfg.Kernels {
		cs, err := list(ctx, kc)
		if err != nil {
			return nil, fmt.Errorf("kernel %s: %w", kc.Name, err)
		}
		for _, c := range cs {
			var rec NightlyRecord
			err := store.ReadJSON(filepath.Join(opt.History, harness.KernelLabel(c), nightlyFile), &rec)
			switch {
			case err == nil && (rec.Status == "complete" || !opt.RetryFailed):
				res.Skipped = append(res.Skipped, harness.KernelLabel(c))
			case err == nil || errors.Is(err, os.ErrNotExist):
				todo = append(todo, nightlyTodo{c, kc.Name})
			default:
				return nil, err
			}
		}
	}
	if len(todo) == 0 {
		p.Logf("nothing new: all %d kernels already in %s", len(res.Skipped), opt.History)
		return res, nil
	}
	p.Logf("%d new kernels, %d already in the history", len(todo), len(res.Skipped))
	if err := opt.Run.EnsureImage(ctx); err != nil {
		return nil, err
	}
	for _, c := range todo {
		if err := nightlyKernel(ctx, opt, c.c, c.watch, res); err != nil {
			return res, err
		}
	}
	res.Report, res.KCIDB = filepath.Join(opt.History, "report.html"), filepath.Join(opt.History, "kcidb.json")
	return res, writeHistoryReport(opt.History, res.Report, res.KCIDB)
}

// nightlyTodo is a kernel a night runs, and the [[kernel]] entry it came
// from.
type nightlyTodo struct {
	c     kernels.Candidate
	watch string
}

// nightlyKernel runs one kernel into the history, records the outcome
// and, for a complete kernel, writes its findings against the kernel
// before it (a failure to is logged: the kernel's results stand).
func nightlyKernel(ctx context.Context, opt NightlyOptions, c kernels.Candidate, watch string, res *NightlyResult) error {
	label := harness.KernelLabel(c)
	one := *opt.Run.Config
	one.Kernels = []harness.KernelConfig{{Name: label, Package: c.Package}}
	src, err := toml.Marshal(&one)
	if err != nil {
		return err
	}
	cfg, err := harness.ParseConfig(label+".toml", src)
	if err != nil {
		return err
	}
	run := opt.Run
	run.Config, run.ConfigPath, run.OutDir = cfg, label+".toml", filepath.Join(opt.History, label)
	run.ProfileFirst = true // the functions of the findings
	rec := NightlyRecord{Kernel: store.KernelInfo{Label: label, Package: c.Package, Version: c.Version, Release: c.Release}, Watch: watch, Started: time.Now().UTC()}
	sum, err := harness.Run(ctx, run)
	rec.Wall = time.Since(rec.Started).Seconds()
	switch {
	case errors.Is(err, vm.ErrInterrupted) || ctx.Err() != nil:
		return err // nothing recorded: the next night (or the same command) resumes it
	case err != nil:
		rec.Status, rec.Reason = "failed", err.Error()
	case sum.Skipped+sum.Boots-sum.Failed == 0 && len(sum.BadBoots) > 0:
		rec.Status, rec.Reason = "failed", sum.BadBoots[0]
	default:
		rec.Status = "complete"
	}
	if rec.Status == "failed" {
		res.Failed = append(res.Failed, label)
		opt.Run.Progress.Logf("%s failed: %s", label, rec.Reason)
	} else {
		res.Ran = append(res.Ran, label)
	}
	if err := os.MkdirAll(run.OutDir, 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteJSON(filepath.Join(run.OutDir, nightlyFile), &rec); err != nil || rec.Status != "complete" {
		return err
	}
	paths, err := nightlyFindings(opt.History, &rec)
	if err != nil {
		opt.Run.Progress.Logf("%s: no findings against the kernel before it: %v", label, err)
	}
	res.Findings = append(res.Findings, paths...)
	return nil
}

// writeHistoryReport renders the trend report over every kernel's run
// directory in the history, kernels along the version axis, to path, and
// the same runs' results as a KCIDB report to kcidbPath.
func writeHistoryReport(history, path, kcidbPath string) error {
	ents, err := os.ReadDir(history)
	if err != nil {
		return err
	}
	var dirs []string
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(history, e.Name(), "run.json")); err == nil {
			dirs = append(dirs, filepath.Join(history, e.Name()))
		}
	}
	sort.Strings(dirs)
	var page bytes.Buffer
	err = show.WriteReport(&page, dirs, show.ReportOptions{Title: "kharness nightly: " + history, LinkBase: history,
		Compare: stats.CompareOptions{Column: "config"}, Sections: []show.ReportSectionFunc{nightlyTimeSection}})
	if err != nil {
		return fmt.Errorf("writing the trend report: %w", err)
	}
	if err := atomicfile.Write(path, page.Bytes(), 0o644); err != nil {
		return err
	}
	return writeKCIDBFile(dirs, kcidbPath)
}

// writeKCIDBFile writes the comparison of dirs by config (each kernel's
// cells, as the trend report tabulates them) as a KCIDB report to path.
func writeKCIDBFile(dirs []string, path string) error {
	tab, err := stats.Compare(dirs, stats.CompareOptions{Column: "config"})
	if err != nil {
		return fmt.Errorf("writing the KCIDB report: %w", err)
	}
	var b bytes.Buffer
	if err := show.WriteKCIDB(&b, dirs, tab); err != nil {
		return err
	}
	return atomicfile.Write(path, b.Bytes(), 0o644)
}

// nightlyTimeSection says, on a history with boots under TCG, what the
// trend page does with time: each kernel's run is of its own night, so
// time is called only between boot configs within one kernel's run
// (boots alternating on the same host), and only drawn across kernels;
// exact counts are compared across kernels.
func nightlyTimeSection(boots []*store.BootRecord, _ *stats.Table) ([]show.ReportSection, error) {
	for _, b := range boots {
		if b.Accel == "tcg" {
			return []show.ReportSection{{ID: "time-under-tcg", Title: "Time under TCG",
				Body: "<p>Each kernel here was run on its own night. Under TCG the guest's time follows the host's, which drifts between runs, so " +
					"time is called only between boot configs within one kernel's run, whose boots alternate on the same host; across kernels " +
					"time is drawn, not called. The exact rows (insns/op, kinsns/op) are counts that host load cannot change, and are compared " +
					"across kernels: read those for what changed from one kernel to the next.</p>"}}, nil
		}
	}
	return nil, nil
}
