package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"kharness/harness"
	"kharness/harness/attribute"
	"kharness/harness/bisect"
	"kharness/harness/vm"
	"kharness/kernels"
	"kharness/results/show"
	"kharness/results/stats"
	"kharness/results/stream"
)

// exitUndecided is bisect's status when the search stopped without naming
// a first bad kernel.
const exitUndecided = 5

// listFamilies lists the kernels of several Debian families, oldest first:
// from the system's apt lists when suite is empty, else from that one of
// Debian's suites, or every suite kharness knows for "all" (families ""
// then means every family).
func listFamilies(ctx context.Context, families, flavour, suite string, logf func(string, ...any)) ([]kernels.Candidate, error) {
	var all []kernels.Candidate
	if suite != "" {
		a, err := kernels.OpenArchive("")
		if err != nil {
			return nil, err
		}
		a.Logf = logf
		if suite == "all" {
			suite = ""
		}
		cs, err := a.Kernels(ctx, flavour, suite)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if families == "" || slices.ContainsFunc(strings.Split(families, ","), func(f string) bool {
				return kernels.FamilyMatch(strings.TrimSpace(f), seriesOf(c))
			}) {
				all = append(all, c)
			}
		}
		if len(all) == 0 {
			return nil, fmt.Errorf("no %s kernel of families %s in suite %s", flavour, families, cmp.Or(suite, "all"))
		}
		return all, nil
	}
	for _, f := range strings.Split(families, ",") {
		cs, err := kernels.ListFamily(ctx, strings.TrimSpace(f), flavour)
		if err != nil {
			return nil, err
		}
		all = append(all, cs...)
	}
	sort.SliceStable(all, func(i, j int) bool { return kernels.CompareVersions(all[i].Version, all[j].Version) < 0 })
	return all, nil
}

// seriesOf is a kernel's upstream series ("6.18") from its upstream version.
func seriesOf(c kernels.Candidate) string {
	parts := strings.SplitN(c.Upstream, ".", 3)
	if len(parts) < 2 {
		return c.Upstream
	}
	return parts[0] + "." + parts[1]
}

// findKernel finds a kernel named by package, release, release prefix
// ("6.1.0-47", "6.12.117") or upstream version.
func findKernel(cs []kernels.Candidate, name string) (int, error) {
	var hits []int
	for i, c := range cs {
		if name == c.Package || name == c.Release || name == c.Upstream || name == harness.KernelLabel(c) ||
			strings.HasPrefix(c.Release, name+"-") || strings.HasPrefix(c.Release, name+"+") {
			hits = append(hits, i)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		var names []string
		for _, c := range cs {
			names = append(names, c.Release)
		}
		return 0, fmt.Errorf("kernel %q is not in the list (%s)", name, strings.Join(names, ", "))
	}
	return 0, fmt.Errorf("kernel %q is ambiguous: %d kernels match", name, len(hits))
}

func bisectCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bisect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	good := fs.String("good", "", "the good kernel (package, release or its prefix such as 6.1.0-47)")
	bad := fs.String("bad", "", "the bad kernel")
	family := fs.String("family", "6.1,6.12", "Debian families whose kernels, in version order, are bisected (comma-separated; with -suite, empty means all)")
	suite := fs.String("suite", "", "take kernels from this Debian suite, or from \"all\" the suites kharness knows, instead of the system's apt lists (automatic when -good or -bad is not in them)")
	flavour := fs.String("flavour", kernels.DefaultFlavour, "Debian kernel flavour")
	bench := fs.String("bench", "NullSyscall/call=getppid$", "regexp: the benchmark compared (first match by name)")
	unit := fs.String("unit", "sec/op", "its unit, as benchfmt tidies it")
	metric := fs.String("metric", "auto", "insns or kinsns: bisect the exact instruction count per operation (all, or the kernel's; one boot a kernel where counts agree; TCG only); time: -unit, with statistics over boots; auto: insns under TCG, time where KVM runs")
	perBoot := fs.String("per-boot", "median", "each boot's number: median of its samples, or min (the fastest: steadier on a shared host, where interference only adds time)")
	cmdline := fs.String("cmdline", "", "extra kernel arguments for every boot")
	out := fs.String("o", "runs/bisect", "results root: one run directory a kernel, reused by later bisections")
	boots := fs.Int("boots", 5, "boots per kernel before its first test")
	maxBoots := fs.Int("max-boots", 15, "most boots per kernel")
	alpha := fs.Float64("alpha", 0.05, "significance level of each test")
	benchtime := fs.String("benchtime", "100ms", "one sample")
	count := fs.Int("count", 10, "samples per boot")
	accel := accelFlag(fs, "auto", "auto, kvm or tcg")
	cache := fs.String("cache", "", "cache for kernels and images")
	jobs := fs.Int("j", 0, "concurrent VMs (default: free host cores less one for QEMU, ÷ vCPUs)")
	slow := slowFactorFlag(fs)
	fs.Usage = func() { bisectUsage(fs, stderr) }
	if err := fs.Parse(args); err != nil || *good == "" || *bad == "" || fs.NArg() != 0 {
		if err == nil {
			fs.Usage()
		}
		return errUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	*metric = chooseMetric(*metric, string(*accel), set["unit"], stderr)
	if err := applyMetric(*metric, set, unit, count, out); err != nil {
		return badFlag(err)
	}
	if err := checkBisectFlags(fs, *alpha, *maxBoots); err != nil {
		return err
	}
	st, err := stats.ParseBootStat(*perBoot)
	if err != nil {
		return badFlag(fmt.Errorf("-per-boot: %w", err))
	}
	sf, err := slowFactor(*slow)
	if err != nil {
		return badFlag(err)
	}
	src, err := cacheAndSource(cache)
	if err != nil {
		return err
	}
	p := &harness.Progress{W: stderr, TTY: isTerminal(stderr)}
	cs, err := bisectRange(ctx, *good, *bad, *family, set["family"], *flavour, *suite, p)
	if err != nil {
		return err
	}
	p.Logf("bisecting %s over %d kernels: %s .. %s", *bench, len(cs), cs[0].Release, cs[len(cs)-1].Release)
	kb := &bisect.KernelBisect{
		Kernels: cs, Good: 0, Bad: len(cs) - 1, Bench: *bench, Unit: *unit, Stat: st, SlowFactor: sf, Cmdline: *cmdline,
		Benchtime: *benchtime, Count: *count, Accel: string(*accel),
		Params: bisect.BisectParams{Alpha: *alpha, StartBoots: *boots, MaxBoots: *maxBoots},
		Run:    harness.RunOptions{OutDir: *out, CacheDir: *cache, SourceDir: src, QEMU: vm.DefaultQEMU, Jobs: *jobs, Progress: p},
	}
	start := time.Now()
	r, err := bisect.BisectKernels(ctx, kb)
	if r != nil && len(r.Steps) > 0 {
		writeBisect(stdout, stderr, kb, r, time.Since(start))
	}
	if errors.Is(err, vm.ErrInterrupted) {
		return &exitError2{exitInterrupted, err}
	}
	if err != nil {
		return err
	}
	if r.FirstBad < 0 {
		return &exitError2{exitUndecided, nil}
	}
	return explainFirstBad(ctx, kb, r, append([]string{"kharness", "bisect"}, args...), stdout, p)
}

// explainFirstBad ends an exact bisection with the attribution of the
// first bad kernel against the last good one: the kernel functions that
// account for the step, from one profiled boot of each (attribute.Attribute,
// into -o DIR/attribute/), also written as a finding report into -o
// DIR/findings/ (show.WriteFinding) that names argv, the bisection's
// command. A failed attribution is said, not fatal: the bisection's answer
// stands.
func explainFirstBad(ctx context.Context, kb *bisect.KernelBisect, r *bisect.BisectResult, argv []string, stdout io.Writer, p *harness.Progress) error {
	if !stream.ExactUnit(kb.Unit) {
		return nil
	}
	good, bad := kb.Kernels[r.Lo], kb.Kernels[r.FirstBad]
	p.Logf("attributing %s against %s", harness.KernelLabel(bad), harness.KernelLabel(good))
	a, err := attribute.Attribute(ctx, attribute.AttributeOptions{
		A: kernels.Source{Package: good.Package, Suite: good.Suite}, B: kernels.Source{Package: bad.Package, Suite: bad.Suite},
		Bench: kb.Bench, Cmdline: kb.Cmdline,
		Run: harness.RunOptions{OutDir: filepath.Join(kb.Run.OutDir, "attribute", harness.KernelLabel(good)+"-vs-"+harness.KernelLabel(bad)),
			CacheDir: kb.Run.CacheDir, SourceDir: kb.Run.SourceDir, QEMU: kb.Run.QEMU, Jobs: kb.Run.Jobs, Progress: p},
	})
	if errors.Is(err, vm.ErrInterrupted) {
		return &exitError2{exitInterrupted, err}
	}
	if err != nil {
		fmt.Fprintf(stdout, "\nno attribution of the first bad kernel: %v (kharness attribute -a %s -b %s)\n", err, good.Release, bad.Release)
		return nil
	}
	fmt.Fprintf(stdout, "\nwhy: %s against %s, by kernel function\n", harness.KernelLabel(bad), harness.KernelLabel(good))
	attribute.WriteAttribution(stdout, a, 10)
	fs, err := attribute.AttributionFindings(a, kb.Cmdline, []string{vm.QuoteArgv(argv)})
	if err == nil {
		var paths []string
		paths, err = show.WriteFindings(filepath.Join(kb.Run.OutDir, "findings"), fs)
		for _, path := range paths {
			fmt.Fprintf(stdout, "finding: %s\n", path)
		}
	}
	if err != nil {
		fmt.Fprintf(stdout, "no finding report: %v\n", err)
	}
	return nil
}

// bisectRange lists the kernels from good to bad: from the system's apt
// lists, or from suite; when either end is not in the system's lists, from
// every suite kharness knows (6.16.3 .. 7.3.4 are only in backports), in
// every family unless familySet.
func bisectRange(ctx context.Context, good, bad, family string, familySet bool, flavour, suite string, p *harness.Progress) ([]kernels.Candidate, error) {
	cs, err := listFamilies(ctx, family, flavour, suite, p.Logf)
	if err != nil {
		return nil, err
	}
	gi, gerr := findKernel(cs, good)
	bi, berr := findKernel(cs, bad)
	if (gerr != nil || berr != nil) && suite == "" {
		if !familySet {
			family = ""
		}
		p.Logf("-good or -bad is not in the system's apt lists: looking in every Debian suite kharness knows")
		if cs, err = listFamilies(ctx, family, flavour, "all", p.Logf); err != nil {
			return nil, err
		}
		gi, gerr = findKernel(cs, good)
		bi, berr = findKernel(cs, bad)
	}
	if gerr != nil {
		return nil, gerr
	}
	if berr != nil {
		return nil, berr
	}
	if gi >= bi {
		return nil, fmt.Errorf("-good %s must be older than -bad %s", cs[gi].Release, cs[bi].Release)
	}
	return cs[gi : bi+1], nil
}

// writeBisect prints the bisection's table and, for a timed metric, what
// the host guard set aside (exact counts do not go through it).
func writeBisect(stdout, stderr io.Writer, kb *bisect.KernelBisect, r *bisect.BisectResult, wall time.Duration) {
	bisect.WriteBisect(stdout, r, kb.Unit, wall)
	if stream.ExactUnit(kb.Unit) {
		return
	}
	if gs, err := kb.GuardStats(); err != nil {
		fmt.Fprintf(stderr, "kharness: host guard: %v\n", err)
	} else if gs.Samples > 0 {
		fmt.Fprintln(stdout, gs)
	}
}

// applyMetric turns -metric insns or kinsns into the unit bisected, and,
// where the command line left them, one sample a boot (the counts need no
// timed samples: the fewest that still calibrate the count phase) and a
// results root of their own.
func applyMetric(metric string, set map[string]bool, unit *string, count *int, out *string) error {
	switch metric {
	case "", bisect.MetricTime:
		return nil
	case "insns":
		*unit = stream.InsnsUnit
	case "kinsns":
		*unit = stream.KernelInsnsUnit
	default:
		return fmt.Errorf("-metric %q: want auto, insns, kinsns or time", metric)
	}
	if !set["count"] {
		*count = 1
	}
	if !set["o"] {
		*out = "runs/bisect-insns"
	}
	return nil
}

// chooseMetric resolves -metric auto (autoMetric), saying what it chose
// and why; any other value is returned as it is.
func chooseMetric(metric, accel string, unitSet bool, stderr io.Writer) string {
	if metric != bisect.MetricAuto {
		return metric
	}
	metric = autoMetric(accel, unitSet)
	fmt.Fprintf(stderr, "bisect: -metric %s (auto: %s)\n", metric, autoMetricWhy(accel, unitSet))
	return metric
}

// autoMetric is what -metric auto bisects: the exact count under TCG,
// where host load cannot change it; time where KVM may run (the guest on
// the real CPU, uncounted) or where -unit names a timed unit.
func autoMetric(accel string, unitSet bool) string {
	if unitSet || accel == "kvm" || (accel != "tcg" && vm.CheckKVMDevice() == nil) {
		return bisect.MetricTime
	}
	return bisect.MetricInsns
}

func autoMetricWhy(accel string, unitSet bool) string {
	switch {
	case unitSet:
		return "-unit was given"
	case accel == "kvm":
		return "-accel kvm, where nothing counts instructions"
	case accel == "tcg":
		return "TCG: the exact count, which host load cannot change"
	}
	if err := vm.CheckKVMDevice(); err != nil {
		return "TCG (" + err.Error() + "): the exact count, which host load cannot change"
	}
	return "KVM answers here, where nothing counts instructions"
}
