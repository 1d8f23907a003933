package bisect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"kharness/harness"
	"kharness/harness/vm"
	"kharness/kernels"
	"kharness/results/stats"
	"kharness/results/store"
	"kharness/results/stream"
)

// Metrics of bisect-run and bisect: "auto" is the exact count under TCG
// and time under KVM; "insns" and "kinsns" are the exact count per
// operation (all, or the kernel's share); "time" is ns/op.
const (
	MetricAuto   = "auto"
	MetricInsns  = "insns"
	MetricKInsns = "kinsns"
	MetricTime   = "time"
)

// MetricUnit is the stream unit a metric reads: insns/op, kinsns/op or
// sec/op ("auto" reads insns/op, as it does under TCG).
func MetricUnit(metric string) string {
	switch metric {
	case MetricKInsns:
		return stream.KernelInsnsUnit
	case MetricTime:
		return "sec/op"
	}
	return stream.InsnsUnit
}

// TreeStepOptions is one step of `git bisect run kharness bisect-run`:
// the kernel tree's checked-out commit, built and booted.
type TreeStepOptions struct {
	Tree     string    // the kernel work tree
	Fragment string    // config fragment merged onto kernels.QEMUConfig
	MakeJobs int       // make -j; host cores when 0
	MakeLog  io.Writer // make's output, or nil
	// Bench is the one benchmark measured, by its full name.
	Bench     string
	Benchtime time.Duration
	Count     int // samples per boot
	// Metric is MetricAuto, MetricInsns, MetricKInsns or MetricTime. An
	// exact metric boots once (twice when the first boot's count phase
	// gives no count) with the counting plugin in profile mode, so that a
	// bad step can name its functions; time boots Boots times.
	Metric  string
	Boots   int           // boots of a timed step
	Timeout time.Duration // one boot's deadline
	Cmdline string        // extra kernel arguments
	Accel   string        // auto, kvm or tcg
	// RefKernel, for a timed step, is the reference's kernel: it boots
	// Boots times in the same run, alternating with the step's kernel, so
	// that both see the same host. Nil: the step's kernel alone.
	RefKernel *harness.KernelConfig
	// Run holds the cache, the kharness source, QEMU and progress; the
	// step's run directory is chosen here, under the cache.
	Run harness.RunOptions
}

// TreeStep is what a step built and measured.
type TreeStep struct {
	Build  *kernels.TreeBuild
	Dir    string // the step's (last) run directory: a reference for later steps (-ref)
	Dirs   []string
	Accel  string
	Metric string // the metric measured: auto resolved to insns or time
	Unit   string
	// Values holds, per ok boot of the step's kernel, its count
	// (insns/op or kinsns/op) or the median of the samples the host
	// guard kept, in ns/op.
	Values []float64
	// RefValues holds the reference kernel's values from the same run
	// (a timed step with RefKernel).
	RefValues []float64
	Failed    int      // boots that gave no number
	Bad       []string // why, for each failed boot
}

// Cell names of a step's run.
const (
	treeKernelName = "tree"
	treeRefName    = "ref"
	treeConfigName = "step"
)

// RunTreeStep builds the tree's commit and boots it as a one-cell run
// (two cells, alternating, with a RefKernel), stored like any other:
// every boot's stream checked against its checksum when read back, timed
// samples under the host guard. The run directory is keyed by commit and
// settings, so a commit judged twice (the reference, then a bisection
// step) boots once. A build the tree fails wraps kernels.ErrBuildFailed.
func RunTreeStep(ctx context.Context, o TreeStepOptions) (*TreeStep, error) {
	b, err := kernels.BuildTree(ctx, kernels.BuildOptions{Tree: o.Tree, CacheDir: o.Run.CacheDir, Fragment: o.Fragment, Jobs: o.MakeJobs, Log: o.MakeLog})
	if err != nil {
		return nil, err
	}
	step := &TreeStep{Build: b, Metric: o.Metric}
	if o.Metric != MetricTime {
		// One boot; a second only when the first gave no count (its
		// stretches did not agree, or it failed).
		for try := 1; try <= 2 && len(step.Values) == 0; try++ {
			if err := step.run(ctx, o, try); err != nil {
				return nil, err
			}
			if step.Accel != "tcg" {
				break // auto under KVM: nothing counts, so time
			}
		}
		if step.Accel == "tcg" {
			return step, nil
		}
		if o.Metric != MetricAuto {
			return nil, fmt.Errorf("%w: -metric %s needs TCG (the step ran under %s)", vm.ErrNoInsns, o.Metric, step.Accel)
		}
	}
	*step = TreeStep{Build: b, Metric: MetricTime}
	return step, step.run(ctx, o, 1)
}

// run boots one run of the step: try numbers the exact metric's boots.
func (step *TreeStep) run(ctx context.Context, o TreeStepOptions, try int) error {
	exact := step.Metric != MetricTime
	matrix := treeStepConfig(o, step.Build, exact, try)
	sum := sha256.Sum256([]byte(matrix))
	dir := filepath.Join(o.Run.CacheDir, "bisect-run", step.Build.Commit+"-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	cfg, err := harness.ParseConfig(filepath.Join(dir, store.ConfigFile), []byte(matrix))
	if err != nil {
		return fmt.Errorf("bisect-run: the step's matrix: %w", err)
	}
	ro := o.Run
	ro.Config, ro.ConfigPath, ro.OutDir, ro.Profile = cfg, filepath.Join(dir, store.ConfigFile), dir, exact
	res, err := harness.Run(ctx, ro)
	if err != nil {
		return err
	}
	step.Dir, step.Dirs, step.Accel = dir, append(step.Dirs, dir), res.Accel.Accel
	step.Bad = append(step.Bad, res.BadBoots...)
	if exact && step.Accel != "tcg" {
		return nil
	}
	if exact && step.Metric == MetricAuto {
		step.Metric = MetricInsns
	}
	step.Unit = MetricUnit(step.Metric)
	re := regexp.MustCompile("^" + regexp.QuoteMeta(o.Bench) + "$")
	// With the reference beside the step, their boots alternate and a
	// rank test compares them: the host guard, which sets a slow boot
	// aside, would only leave too few on a busy host (2 of 4 in a test
	// beside other work). Alone, a step's samples are guarded as any run's.
	guard := stats.DefaultSlowFactor
	if o.RefKernel != nil {
		guard = -1
	}
	boots, err := store.LoadBoots(step.Dirs...)
	if err != nil {
		return err
	}
	g := stats.Guard(boots, guard) // loaded and guarded once, read per cell
	cellVals := func(kernel string) ([]float64, int, error) {
		keep := func(r *store.BootRecord) bool { return r.Cell == store.CellName(kernel, treeConfigName) }
		vals, _, failed, err := g.Samples(keep, re, step.Unit, stats.StatMedian)
		if err != nil && !errors.Is(err, stats.ErrNoBenchmark) {
			return nil, 0, err
		}
		if !exact {
			for i := range vals {
				vals[i] *= 1e9
			}
		}
		return vals, failed, nil
	}
	vals, failed, err := cellVals(treeKernelName)
	if err != nil {
		return err
	}
	want := o.Boots
	if exact {
		want = try
	}
	step.Values, step.Failed = vals, max(failed, want-len(vals))
	if !exact && o.RefKernel != nil {
		if step.RefValues, _, err = cellVals(treeRefName); err != nil {
			return err
		}
	}
	return nil
}

// treeStepConfig is the step's matrix: the tree's kernel (and a timed
// step's reference kernel) in one boot config. An exact step boots once
// a try, counted; a timed one Boots times a kernel, uncounted.
func treeStepConfig(o TreeStepOptions, b *kernels.TreeBuild, exact bool, try int) string {
	var s strings.Builder
	boots, insns := o.Boots, "off"
	if exact {
		boots, insns = 1, "on"
		if o.Metric == MetricAuto {
			insns = "auto"
		}
	}
	fmt.Fprintf(&s, "# written by kharness bisect-run for %s (try %d)\nboots = %d\nretries = 0\naccel = %q\ntimeout = %q\ninsns = %q\n",
		b.Commit, try, boots, o.Accel, o.Timeout.String(), insns)
	fmt.Fprintf(&s, "[bench]\nrun = %q\nbenchtime = %q\ncount = %d\n", "^Benchmark"+regexp.QuoteMeta(o.Bench)+"$", o.Benchtime.String(), o.Count)
	s.WriteString(harness.KernelConfig{Name: treeKernelName, Path: b.Kernel.Path, SHA256: b.Kernel.SHA256}.TOML())
	if !exact && o.RefKernel != nil {
		s.WriteString(harness.KernelConfig{Name: treeRefName, Path: o.RefKernel.Path, SHA256: o.RefKernel.SHA256}.TOML())
	}
	fmt.Fprintf(&s, "[[config]]\nname = %q\ncmdline = %q\n", treeConfigName, strings.TrimSpace(o.Cmdline))
	return s.String()
}
