package bisect

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"text/tabwriter"
	"time"

	"kharness/harness"
	"kharness/kernels"
	"kharness/results/show"
	"kharness/results/stats"
	"kharness/results/store"
	"kharness/results/stream"
)

// KernelBisect bisects a performance change over released kernels.
type KernelBisect struct {
	Kernels   []kernels.Candidate // ordered oldest first
	Good, Bad int                 // indices into Kernels
	Bench     string              // regexp: the benchmark compared (first match by name)
	Unit      string              // its unit as benchfmt tidies it ("sec/op")
	Stat      stats.BootStat      // each boot's number: the median of its samples, or the fastest
	// SlowFactor is the host guard's factor (see stats.HostGuard): 0
	// means stats.DefaultSlowFactor, negative keeps every sample. The
	// guard pools the boots of every kernel of the bisection.
	SlowFactor float64
	// ExactThreshold is the smallest change of an exact count called
	// (see stats.DecideExact); 0 means stats.DefaultExactThreshold.
	ExactThreshold float64
	// Width is the kernels an exact bisection judges at once (0: the
	// host's cores, at most 3): a count does not depend on the host's
	// load, so kernels booted side by side count as one booted alone.
	Width     int
	Cmdline   string // the boot config every kernel is booted with
	Benchtime string
	Count     int
	Accel     string
	Params    BisectParams
	// Run holds where results go (OutDir is the root: one run directory a
	// kernel, reused by later bisections), the cache, the source and
	// progress.
	Run harness.RunOptions
}

// kernelConfig is the matrix file of one kernel: written out so that the
// run directory records it and a later bisection with the same settings
// resumes it.
func (kb *KernelBisect) kernelConfig(c kernels.Candidate) string {
	insns, boots := "auto", kb.Params.StartBoots
	if stream.ExactUnit(kb.Unit) {
		// An error, not a silent time-only run, where counts cannot be
		// made; and one boot to start, which BisectExact adds to.
		insns, boots = "on", 1
	}
	return fmt.Sprintf(`# written by kharness for one kernel of a bisection or nightly run
boots = %d
retries = 1
accel = %q
insns = %q
timeout = "120s"
[bench]
run = %q
benchtime = %q
count = %d
[[kernel]]
name = %q
package = %q
%s[[config]]
name = "bisect"
cmdline = %q
`, boots, kb.Accel, insns, kb.Bench, kb.Benchtime, kb.Count, harness.KernelLabel(c), c.Package, suiteLine(c), kb.Cmdline)
}

// suiteLine is the kernel's suite key, for a kernel found in one of
// Debian's suites beyond the system's apt lists; empty otherwise, so that
// the files of earlier bisections stay as they were and resume.
func suiteLine(c kernels.Candidate) string {
	if c.Suite == "" {
		return ""
	}
	return fmt.Sprintf("suite = %q\n", c.Suite)
}

// maxBootsFactor caps the boots of one kernel at this many times those
// asked for, when host-slow boots are set aside.
const maxBootsFactor = 3

// Samples is the SampleFunc over real kernels: it runs (or resumes) kernel
// i's directory until it has boots usable boots, and reads their per-boot
// numbers. A boot whose every sample the host guard set aside is not
// usable: it is kept on disk, and another boot is made in its place, up
// to maxBootsFactor times the boots asked for.
func (kb *KernelBisect) Samples(ctx context.Context, i, boots int) ([]float64, error) {
	c := kb.Kernels[i]
	src := kb.kernelConfig(c)
	cfg, err := harness.ParseConfig("bisect.toml", []byte(src))
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(kb.Bench)
	if err != nil {
		return nil, err
	}
	opt := kb.Run
	opt.Config, opt.ConfigPath = cfg, "bisect.toml"
	opt.OutDir = kb.kernelDir(c)
	for want := boots; ; {
		opt.Boots = want
		if _, err := harness.Run(ctx, opt); err != nil {
			return nil, fmt.Errorf("kernel %s: %w", harness.KernelLabel(c), err)
		}
		keep := func(b *store.BootRecord) bool { return b.Kernel.Label == harness.KernelLabel(c) }
		vals, _, failed, err := stats.BootSamples(kb.dirs(), keep, re, kb.Unit, kb.Stat, kb.SlowFactor)
		if err != nil {
			return nil, err
		}
		if len(vals) >= boots || want >= maxBootsFactor*boots {
			if len(vals) == 0 {
				return nil, fmt.Errorf("kernel %s: no usable boot of %d: %d attempts failed, the rest ran while the host was slow (see %s)", harness.KernelLabel(c), want, failed, opt.OutDir)
			}
			return vals, nil
		}
		more := boots - len(vals)
		if kb.Run.Progress != nil {
			kb.Run.Progress.Logf("kernel %s: %d of %d boots usable (the rest failed or ran while the host was slow): booting %d more",
				harness.KernelLabel(c), len(vals), want, more)
		}
		want += more
	}
}

// kernelDir is kernel c's run directory.
func (kb *KernelBisect) kernelDir(c kernels.Candidate) string {
	return filepath.Join(kb.Run.OutDir, harness.KernelLabel(c))
}

// dirs are the run directories of the bisection's kernels that exist: the
// host guard's pool.
func (kb *KernelBisect) dirs() []string {
	var ds []string
	for _, c := range kb.Kernels {
		d := kb.kernelDir(c)
		if _, err := os.Stat(filepath.Join(d, store.RunFile)); err == nil {
			ds = append(ds, d)
		}
	}
	return ds
}

// GuardStats says what the host guard set aside over the bisection's
// kernels.
func (kb *KernelBisect) GuardStats() (stats.GuardStats, error) {
	boots, err := store.LoadBoots(kb.dirs()...)
	if err != nil {
		return stats.GuardStats{}, err
	}
	return stats.Guard(boots, cmp.Or(kb.SlowFactor, stats.DefaultSlowFactor)).Stats()
}

// BisectKernels runs the bisection.
func BisectKernels(ctx context.Context, kb *KernelBisect) (*BisectResult, error) {
	labels := make([]string, len(kb.Kernels))
	for i, c := range kb.Kernels {
		labels[i] = harness.KernelLabel(c)
	}
	if err := kb.Run.EnsureImage(ctx); err != nil {
		return nil, err
	}
	if stream.ExactUnit(kb.Unit) {
		return BisectExactWidth(ctx, labels, kb.Good, kb.Bad, kb.Samples, cmp.Or(kb.ExactThreshold, stats.DefaultExactThreshold), bisectWidth(kb.Width))
	}
	p := kb.Params
	p.Beside = kb.Beside
	return Bisect(ctx, labels, kb.Good, kb.Bad, kb.Samples, p)
}

// WriteBisect prints the evidence table and the verdict.
func WriteBisect(w io.Writer, r *BisectResult, unit string, wall time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	exact := stream.ExactUnit(unit)
	if exact {
		fmt.Fprintln(tw, "step\tkernel\tboots\t"+unit+"\tvs good\t-good\t-bad\tverdict")
	} else {
		fmt.Fprintln(tw, "step\tkernel\tboots\tmedian\tvs good\tp(good)\tp(bad)\tverdict")
	}
	boots := map[int]int{}
	for i, s := range r.Steps {
		boots[s.Index] = max(boots[s.Index], s.Boots, 0)
		if exact {
			fmt.Fprintf(tw, "%d\t%s\t%d\t%.2f\t×%.4f\t%+.2f\t%+.2f\t%s\n", i+1, s.Label, s.Boots, s.Median, s.RatioToGood, s.Median-s.GoodM, s.Median-s.BadM, s.Verdict)
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t×%.3f\t%.3f\t%.3f\t%s\n", i+1, s.Label, s.Boots, show.FormatValue(s.Median, unit), s.RatioToGood, s.PGood, s.PBad, s.Verdict)
	}
	tw.Flush()
	total := 0
	for _, b := range boots {
		total += b
	}
	fmt.Fprintf(w, "\n%d kernels in the range, %d judged, about %d usable boots, %s\n", len(r.Labels), len(r.Steps), total, wall.Round(time.Second))
	if r.FirstBad >= 0 {
		fmt.Fprintf(w, "first bad kernel: %s (last good: %s)\n", r.Labels[r.FirstBad], r.Labels[r.Lo])
		writePartial(w, r)
	} else {
		fmt.Fprintf(w, "undecided: %s\n", r.Reason)
	}
}

// writePartial says what the partial steps of r show.
func writePartial(w io.Writer, r *BisectResult) {
	for _, s := range r.Partial() {
		where := fmt.Sprintf("%s differs from both endpoints (×%.3f where bad is ×%.3f)", s.Label, s.RatioToGood, s.BadM/s.GoodM)
		switch {
		case s.Verdict == "good*":
			fmt.Fprintf(w, "* %s: a smaller step lies after %s and at or before it\n", where, r.Steps[0].Label)
		case s.Index == r.FirstBad:
			fmt.Fprintf(w, "* %s: the change came in more than one step, the rest of it after %s\n", where, s.Label)
		default:
			fmt.Fprintf(w, "* %s: after the first bad kernel the level moves again\n", where)
		}
	}
}
