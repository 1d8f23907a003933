// Package history counts every kernel of the watched families once, with
// the profile on, and writes the history page: each benchmark's exact
// counts along the kernels, the steps between them and the functions that
// made each step. Re-runs boot only the kernels the history lacks.
package history

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"kharness/harness"
	"kharness/harness/vm"
	"kharness/internal/atomicfile"
	"kharness/kernels"
	"kharness/results/stats"
	"kharness/results/store"
	"kharness/results/stream"
)

// HistoryBench is the benchmarks a history counts unless told otherwise:
// the null system call, a 1-byte read and write, a pipe round trip and a
// lat_ctx hop (2 processes, no working set).
const HistoryBench = `NullSyscall/call=getppid$|Read/|Write/|PipeRoundTrip/procs=2$|CtxSwitch/procs=2/ws=0KiB$`

// HistoryOptions say where a history lives and which kernels it holds.
type HistoryOptions struct {
	// Dir holds one run directory a kernel (named by historyKey: the
	// release and the exact package version), history.html and
	// history.md.
	Dir string
	// Kernels are the kernels, in the page's order. When empty, every
	// kernel of Flavour that the archive lists in every suite kharness
	// knows (kharness kernels), in its order.
	Kernels []kernels.Candidate
	Flavour string
	// Bench is a regexp over benchmark names (HistoryBench when empty).
	Bench string
	// MaxBoots caps the boots of a kernel: one boot a kernel, and another
	// while a benchmark has no exact count (3 when zero).
	MaxBoots int
	// RetryFailed boots again kernels recorded as failed.
	RetryFailed bool
	// Run gives the cache, the image's source, QEMU, progress, and Jobs:
	// the kernels booted at once (host cores when zero: a count does
	// not depend on the host's load).
	Run harness.RunOptions
}

// HistoryResult is what one invocation did.
type HistoryResult struct {
	Ran, Skipped, Failed []string
	Records              []*HistoryRecord // every kernel's, in order (nil: never booted)
	Labels               []string
	Page, Table          string
	Wall                 time.Duration
}

const historyFile = "history.json"

// historyKey names a kernel's directory in a history: its release and the
// exact package version, so that a version Debian publishes again under
// the same release gets a directory of its own.
func historyKey(c kernels.Candidate) string {
	k := harness.KernelLabel(c)
	if c.Version != "" {
		k += "_" + harness.KernelLabel(kernels.Candidate{Release: c.Version})
	}
	return k
}

// History boots every kernel the history lacks (one profiled boot each,
// more where a benchmark has no exact count), records each, and writes the
// page over all of them. An error names the kernel list or the directory
// that failed; a kernel whose boots fail is recorded as failed (and not
// retried unless RetryFailed) and the others go on.
func History(ctx context.Context, o HistoryOptions) (*HistoryResult, error) {
	start := time.Now()
	o.Bench = cmp.Or(o.Bench, HistoryBench)
	o.MaxBoots = cmp.Or(o.MaxBoots, 3)
	if _, err := regexp.Compile(o.Bench); err != nil {
		return nil, fmt.Errorf("history: benchmark regexp %q: %w", o.Bench, err)
	}
	if o.MaxBoots < 1 {
		return nil, fmt.Errorf("history: max boots %d: want 1 or more", o.MaxBoots)
	}
	p := o.Run.Progress
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	cs := o.Kernels
	if len(cs) == 0 {
		a, err := kernels.OpenArchive(o.Run.CacheDir)
		if err != nil {
			return nil, err
		}
		a.Logf = p.Logf
		if cs, err = a.Kernels(ctx, o.Flavour, ""); err != nil {
			return nil, fmt.Errorf("history: listing the kernels: %w", err)
		}
	}
	res := &HistoryResult{Records: make([]*HistoryRecord, len(cs))}
	var todo []int
	for i, c := range cs {
		res.Labels = append(res.Labels, historyKey(c))
		var rec HistoryRecord
		err := store.ReadJSON(filepath.Join(o.Dir, historyKey(c), historyFile), &rec)
		switch {
		case err == nil && rec.Method != HistoryMethod:
			p.Logf("history: %s was counted by method %d, this kharness counts by %d: counting it again", historyKey(c), rec.Method, HistoryMethod)
			if err := os.RemoveAll(filepath.Join(o.Dir, historyKey(c))); err != nil {
				return nil, fmt.Errorf("history: %w", err)
			}
			todo = append(todo, i)
		case err == nil && (rec.Status == "complete" || !o.RetryFailed):
			res.Records[i] = &rec
			res.Skipped = append(res.Skipped, historyKey(c))
		case err == nil || errors.Is(err, os.ErrNotExist):
			todo = append(todo, i)
		default:
			return nil, fmt.Errorf("history: %w", err)
		}
	}
	p.Logf("history: %d kernels, %d to boot, %d already in %s", len(cs), len(todo), len(res.Skipped), o.Dir)
	if len(todo) > 0 {
		if err := o.Run.EnsureImage(ctx); err != nil {
			return nil, err
		}
		if err := historyBoot(ctx, o, cs, todo, res); err != nil {
			return res, err
		}
	}
	res.Wall = time.Since(start)
	return res, writeHistoryPage(o, cs, res)
}

// historyBoot boots the kernels cs[todo] on o.Run.Jobs workers at once
// (host cores when zero), each kernel a run of its own.
func historyBoot(ctx context.Context, o HistoryOptions, cs []kernels.Candidate, todo []int, res *HistoryResult) error {
	jobs := o.Run.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	jobs = min(jobs, len(todo))
	o.Run.Progress.Logf("history: %d kernels at once (counts do not depend on the host's load)", jobs)
	next := make(chan int)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				rec, err := historyKernel(ctx, o, cs[i])
				mu.Lock()
				switch {
				case err != nil:
					firstErr = cmp.Or(firstErr, err)
				case rec.Status == "complete":
					res.Records[i] = rec
					res.Ran = append(res.Ran, historyKey(cs[i]))
				default:
					res.Records[i] = rec
					res.Failed = append(res.Failed, historyKey(cs[i]))
				}
				mu.Unlock()
			}
		}()
	}
	for _, i := range todo {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = vm.ErrInterrupted
	}
	return firstErr
}

// historyConfig is the matrix file of one kernel of a history: profiled
// boots under TCG, short timed samples (only the calibration matters: it
// sets the counted stretches' length).
func historyConfig(o HistoryOptions, c kernels.Candidate, boots int) string {
	var b strings.Builder
	b.WriteString(harness.CountedConfigHead("history", boots, "480s", o.Bench, "10ms", 1))
	b.WriteString(harness.KernelConfig{Name: harness.KernelLabel(c), Package: c.Package, Suite: c.Suite}.TOML())
	fmt.Fprintf(&b, "[[config]]\nname = %q\ncmdline = \"\"\n", historyConfigName)
	return b.String()
}

const historyConfigName = "history"

// historyKernel boots one kernel into DIR/<key>: one profiled boot, and
// more (up to MaxBoots) while a benchmark that ran has no count; then it
// records the kernel. Only an interruption or a directory that cannot be
// written is an error: a kernel that does not boot is recorded as failed.
func historyKernel(ctx context.Context, o HistoryOptions, c kernels.Candidate) (*HistoryRecord, error) {
	key := historyKey(c)
	dir := filepath.Join(o.Dir, key)
	rec := &HistoryRecord{Method: HistoryMethod, Kernel: store.KernelInfo{Label: harness.KernelLabel(c), Package: c.Package, Version: c.Version, Suite: c.Suite, Release: c.Release},
		Upstream: c.Upstream, Started: time.Now().UTC()}
	var err error
	for boots := 1; boots <= o.MaxBoots; boots++ {
		var missing []string
		missing, err = historyRun(ctx, o, c, dir, boots, rec)
		if errors.Is(err, vm.ErrInterrupted) || ctx.Err() != nil {
			return nil, cmp.Or(err, vm.ErrInterrupted)
		}
		if err != nil || len(missing) == 0 {
			break
		}
		o.Run.Progress.Logf("history: %s: no exact count of %s after %d boots", key, strings.Join(missing, ", "), boots)
	}
	if err != nil && ctx.Err() == nil {
		o.Run.Progress.Logf("history: %s: %v; counting it without profile", key, err)
		err = historyPlain(ctx, o, c, dir, err, rec)
		if errors.Is(err, vm.ErrInterrupted) || ctx.Err() != nil {
			return nil, cmp.Or(err, vm.ErrInterrupted)
		}
	}
	rec.Wall = time.Since(rec.Started).Seconds()
	rec.Status = "complete"
	if err != nil {
		rec.Status, rec.Reason = "failed", err.Error()
		o.Run.Progress.Logf("history: %s failed: %s", key, err)
	} else {
		var s []string
		for _, b := range rec.Benches {
			s = append(s, fmt.Sprintf("%s %g", b.Name, b.Kinsns))
		}
		o.Run.Progress.Logf("history: %s: %s kinsns/op (%d boots, %.0f s)", key, strings.Join(s, ", "), rec.Boots, rec.Wall)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return rec, atomicfile.WriteJSON(filepath.Join(dir, historyFile), rec)
}

// historyRun brings the kernel's run directory to boots boots and reads
// its profiles into rec; missing names the benchmarks that ran without a
// count in any boot.
func historyRun(ctx context.Context, o HistoryOptions, c kernels.Candidate, dir string, boots int, rec *HistoryRecord) (missing []string, err error) {
	cfg, err := harness.ParseConfig("history.toml", []byte(historyConfig(o, c, 1)))
	if err != nil {
		return nil, err
	}
	run := o.Run
	// More boots through RunOptions.Boots: the config, the run's identity,
	// stays the one the first boot was made with.
	run.Config, run.ConfigPath, run.OutDir, run.Profile, run.Insns, run.Jobs, run.Boots = cfg, "history.toml", dir, true, "on", 1, boots
	run.Progress = nil // several kernels run at once: History logs each one's outcome
	sum, err := harness.Run(ctx, run)
	if err != nil {
		return nil, err
	}
	all, err := store.LoadBoots(dir)
	if err != nil {
		return nil, err
	}
	rec.Boots = 0
	for _, b := range all {
		if b.Status.OK() {
			rec.Boots++
		}
	}
	ps, phases, err := historyProfiles(all, store.CellName(harness.KernelLabel(c), historyConfigName))
	if err != nil {
		return nil, fmt.Errorf("%w%s", err, harness.BadBoots(sum.BadBoots))
	}
	rec.Benches = rec.Benches[:0]
	names := slices.Sorted(maps.Keys(ps))
	for _, name := range names {
		rec.Benches = append(rec.Benches, historyPoint(o.Dir, name, ps[name]))
	}
	for _, n := range phases {
		if _, ok := ps[n]; !ok && !slices.Contains(missing, n) {
			missing = append(missing, n)
		}
	}
	return missing, nil
}

// bootProfile is one benchmark's profile in one boot, and the boot.
type bootProfile struct {
	stream.BenchProfile
	dir string
}

// historyProfiles reads the profiles of cell's ok boots, by benchmark, and
// the benchmarks that had a count phase in any of them.
func historyProfiles(boots []*store.BootRecord, cell string) (map[string][]bootProfile, []string, error) {
	out := map[string][]bootProfile{}
	var phases []string
	n := 0
	for _, b := range boots {
		if b.Cell != cell || !b.Status.OK() {
			continue
		}
		ps, err := stats.ProfileBoot(b.Dir)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", b.Dir, err)
		}
		for _, p := range ps {
			out[p.Name] = append(out[p.Name], bootProfile{p, b.Dir})
		}
		raw, err := stream.ReadStored(filepath.Join(b.Dir, store.RawFile))
		if err != nil {
			return nil, nil, err
		}
		s, err := stream.Parse(bytes.NewReader(raw), stream.ProfileStreamLimit)
		if err != nil {
			return nil, nil, err
		}
		for _, l := range s.Comments {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "insns" && strings.HasPrefix(f[1], "Benchmark") {
				if name := strings.TrimPrefix(f[1], "Benchmark"); !slices.Contains(phases, name) {
					phases = append(phases, name)
				}
			}
		}
		n++
	}
	if n == 0 {
		return nil, nil, errors.New("no boot succeeded")
	}
	return out, phases, nil
}

// historyPoint is one benchmark's point from its profiled boots.
func historyPoint(root, name string, ps []bootProfile) HistoryPoint {
	r := ps[0]
	best := 0
	for _, p := range ps {
		n := 0
		for _, q := range ps {
			if q.KernelPerOp() == p.KernelPerOp() {
				n++
			}
		}
		if n > best {
			r, best = p, n
		}
	}
	pt := HistoryPoint{Name: name, Kinsns: r.KernelPerOp(), Funcs: map[string]float64{}}
	for _, p := range ps {
		pt.Boots = append(pt.Boots, p.KernelPerOp())
	}
	for f := range r.Funcs {
		pt.Funcs[f] = r.PerOp(f)
	}
	pt.Boot = r.dir
	if rel, err := filepath.Rel(root, r.dir); err == nil {
		pt.Boot = rel
	}
	return pt
}
