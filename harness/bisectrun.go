package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"kharness/kernels"
	"kharness/results/stats"
	"kharness/results/store"
)

// TreeStepOptions is one step of `git bisect run kharness bisect-run`:
// the kernel tree's checked-out commit, built and booted.
type TreeStepOptions struct {
	Tree     string    // the kernel work tree
	Fragment string    // config fragment merged onto kernels.QEMUConfig
	MakeJobs int       // make -j; host cores when 0
	MakeLog  io.Writer // make's output, or nil
	// Bench is the one benchmark timed, by its full name.
	Bench     string
	Benchtime time.Duration
	Count     int           // samples per boot
	Boots     int           // boots of the step
	Timeout   time.Duration // one boot's deadline
	Cmdline   string        // extra kernel arguments
	Accel     string        // auto, kvm or tcg
	// Run holds the cache, the kharness source, QEMU and progress; the
	// step's run directory is chosen here, under the cache.
	Run RunOptions
}

// TreeStep is what a step built and measured.
type TreeStep struct {
	Build  *kernels.TreeBuild
	Dir    string // the step's run directory: a reference for later steps (-ref)
	Accel  string
	Values []float64 // per ok boot, the median of Bench's samples the host guard kept, in ns/op
	Failed int       // boots that gave no number
	Bad    []string  // why, for each failed boot
}

// RunTreeStep builds the tree's commit and boots it Boots times as a
// one-cell run, stored like any other: every boot's stream checked
// against its checksum when read back, its samples under the host guard.
// The run directory is keyed by commit and settings, so a commit judged
// twice (the reference, then a bisection step) boots once. A build the
// tree fails wraps kernels.ErrBuildFailed.
func RunTreeStep(ctx context.Context, o TreeStepOptions) (*TreeStep, error) {
	b, err := kernels.BuildTree(ctx, kernels.BuildOptions{Tree: o.Tree, CacheDir: o.Run.CacheDir, Fragment: o.Fragment, Jobs: o.MakeJobs, Log: o.MakeLog})
	if err != nil {
		return nil, err
	}
	matrix := treeStepConfig(o, b)
	sum := sha256.Sum256([]byte(matrix))
	dir := filepath.Join(o.Run.CacheDir, "bisect-run", b.Commit+"-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	cfg, err := ParseConfig(filepath.Join(dir, store.ConfigFile), []byte(matrix))
	if err != nil {
		return nil, fmt.Errorf("bisect-run: the step's matrix: %w", err)
	}
	ro := o.Run
	ro.Config, ro.ConfigPath, ro.OutDir = cfg, filepath.Join(dir, store.ConfigFile), dir
	res, err := Run(ctx, ro)
	if err != nil {
		return nil, err
	}
	step := &TreeStep{Build: b, Dir: dir, Accel: res.Accel.Accel, Bad: res.BadBoots}
	re := regexp.MustCompile("^" + regexp.QuoteMeta(o.Bench) + "$")
	vals, _, failed, err := stats.BootSamples([]string{dir}, nil, re, "sec/op", stats.StatMedian, 0)
	if err != nil && !errors.Is(err, stats.ErrNoBenchmark) {
		return nil, err
	}
	for _, v := range vals {
		step.Values = append(step.Values, v*1e9)
	}
	step.Failed = max(failed, o.Boots-len(vals))
	return step, nil
}

// treeStepConfig is the step's one-cell matrix.
func treeStepConfig(o TreeStepOptions, b *kernels.TreeBuild) string {
	var s strings.Builder
	fmt.Fprintf(&s, "# written by kharness bisect-run for %s\nboots = %d\nretries = 0\naccel = %q\ntimeout = %q\ninsns = \"off\"\n",
		b.Commit, o.Boots, o.Accel, o.Timeout.String())
	fmt.Fprintf(&s, "[bench]\nrun = %q\nbenchtime = %q\ncount = %d\n", "^Benchmark"+regexp.QuoteMeta(o.Bench)+"$", o.Benchtime.String(), o.Count)
	s.WriteString(KernelConfig{Name: "tree", Path: b.Kernel.Path, SHA256: b.Kernel.SHA256}.toml())
	fmt.Fprintf(&s, "[[config]]\nname = \"step\"\ncmdline = %q\n", strings.TrimSpace(o.Cmdline))
	return s.String()
}

// TreeVerdict is bisect-run's call on a step against its reference.
type TreeVerdict struct {
	Bad    bool
	Skip   bool    // too few boots to call either way
	Ratio  float64 // the step's median over the reference's
	P      float64 // Mann-Whitney U p-value; NaN against a single reference number
	Reason string  // how the call was made, for the log line
}

// JudgeTreeStep calls step's per-boot values against the reference's,
// the way compare and bisect call: bad when the step is slower with
// Mann-Whitney U p < alpha and by more than threshold; good otherwise;
// skip when so few boots could not be called. Against a single reference
// number (ref has one value) there is nothing to test: bad when the
// step's median is slower by more than threshold.
func JudgeTreeStep(ref, step []float64, alpha, threshold float64) TreeVerdict {
	if len(ref) == 1 {
		r := stats.Median(step) / ref[0]
		return TreeVerdict{Bad: r-1 > threshold, Ratio: r, P: math.NaN(),
			Reason: fmt.Sprintf("one reference number: %+.1f%% against a threshold of %.0f%%, no test", (r-1)*100, threshold*100)}
	}
	call, ratio, p, tooFew := stats.CallSamples("sec/op", ref, step, alpha, threshold)
	v := TreeVerdict{Bad: call == stats.CallRegression, Ratio: ratio, P: p,
		Reason: fmt.Sprintf("×%.3f, p=%.3f (Mann-Whitney U, %d boots against %d), threshold %.0f%%", ratio, p, len(step), len(ref), threshold*100)}
	if tooFew {
		v.Skip = true
		v.Reason = fmt.Sprintf("%d boots against %d: too few to call at p < %g (need %d a side)", len(step), len(ref), alpha, stats.NeedPerSide(alpha))
	}
	return v
}

// ReferenceValues reads a reference from a stored run: the per-boot
// medians, in ns/op, of bench in its one cell that has it (or cell), and
// the accelerator they ran under.
func ReferenceValues(dir, cell, bench string) ([]float64, string, error) {
	boots, err := store.LoadBoots(dir)
	if err != nil {
		return nil, "", err
	}
	re := regexp.MustCompile("^" + regexp.QuoteMeta(bench) + "$")
	var cells []string
	accel := map[string]string{}
	for _, b := range boots {
		if b.Status.OK() && (cell == "" || b.Cell == cell) && !slices.Contains(cells, b.Cell) {
			cells, accel[b.Cell] = append(cells, b.Cell), b.Accel
		}
	}
	var found []string
	var vals []float64
	for _, c := range cells {
		v, _, _, err := stats.BootSamples([]string{dir}, func(r *store.BootRecord) bool { return r.Cell == c }, re, "sec/op", stats.StatMedian, 0)
		if errors.Is(err, stats.ErrNoBenchmark) || (err == nil && len(v) == 0) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		found, vals = append(found, c), v
	}
	switch {
	case len(found) == 0 && cell != "":
		return nil, "", fmt.Errorf("-ref %s: no ok boot with %s in ns/op in cell %s", dir, bench, cell)
	case len(found) == 0:
		return nil, "", fmt.Errorf("-ref %s: no ok boot with %s in ns/op", dir, bench)
	case len(found) > 1:
		return nil, "", fmt.Errorf("-ref %s has %s in several cells (%s): choose one with -ref-cell", dir, bench, strings.Join(found, ", "))
	}
	for i := range vals {
		vals[i] *= 1e9
	}
	return vals, accel[found[0]], nil
}
