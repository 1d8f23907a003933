package harness

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"kharness/guest"
	"kharness/harness/vm"
	"kharness/initramfs"
	"kharness/kernels"
	"kharness/results/store"
)

// RunOptions say where a run goes and how it runs; the matrix comes from
// the Config.
type RunOptions struct {
	Config     *Config
	ConfigPath string
	OutDir     string
	Jobs       int    // concurrent VMs; 0 means host cores ÷ guest vCPUs
	CacheDir   string // kernels and images
	SourceDir  string // the kharness module, for building the image
	// Image, when set, is the guest image every boot uses instead of one
	// built from SourceDir: bisect and nightly build theirs once, so that
	// every kernel they compare runs the same guest program even when the
	// source tree changes while they run.
	Image    *initramfs.Image
	QEMU     string
	Command  []string // recorded in run.json
	Progress *Progress
	Verbose  bool  // log each boot's QEMU command line
	Shard    Shard // the slice of the matrix this invocation runs

	// UntilDecided adds boots, after the configured ones, to the cells of
	// every comparison that is neither called nor clearly within the
	// threshold, up to MaxBoots per cell. Comparisons are against the first
	// value of Column ("config" or "kernel") at Alpha and Threshold.
	UntilDecided bool
	MaxBoots     int
	// DecideTime has UntilDecided add boots for timed comparisons too
	// where the benchmark has an exact count (under TCG the count
	// decides, as host load cannot change it).
	DecideTime bool
	// Boots, when above the config's, is the boots per cell this
	// invocation brings every cell up to (the config, and so the run's
	// identity, stays the same).
	Boots     int
	Column    string
	Alpha     float64
	Threshold float64
	// SlowFactor is the host guard's factor for those comparisons (see
	// stats.CompareOptions).
	SlowFactor float64
	// Insns, when not empty, overrides the config's insns (auto, on, off).
	Insns string
	// Profile runs the counting plugin in profile mode and has the guest
	// send its kernel's symbols (see Attribute): each boot's insns.raw
	// and results.raw then hold what stats.ProfileBoot reads.
	Profile bool
	// ProfileFirst profiles boot 0 of each cell of 2 boots or more, an
	// extra boot (see cellBoots), where the run counts: compare reads it
	// to name the functions behind a called exact change. Its timed
	// samples are set aside (the profiler slows the guest ×1.3-1.5;
	// store.ReadBench keeps only its counts).
	ProfileFirst bool
}

// RunSummary is what a run did.
type RunSummary struct {
	Store     *store.Store
	Accel     vm.AccelChoice
	Jobs      int
	Boots     int // boots run by this invocation (attempts, failed ones included)
	Failed    int // failed attempts in this invocation
	Skipped   int // boots already complete from an earlier invocation
	BadBoots  []string
	Wall      time.Duration
	Kernels   []store.KernelInfo
	ImagePath string
	Decisions []Decision // with UntilDecided: how each comparison ended
}

// job is one boot of one cell, with the attempts already spent on it.
type job struct {
	cell     string
	kernel   *kernels.Kernel
	info     store.KernelInfo
	config   BootConfig
	boot     int
	attempts int
}

// Run runs a matrix into opt.OutDir, resuming what an earlier invocation
// with the same config left there: complete boots are kept, half-written
// ones discarded, and each cell ends with the boots asked for. It returns
// ErrInterrupted when ctx ends first; the directory is then consistent and
// the same command resumes it.
func Run(ctx context.Context, opt RunOptions) (*RunSummary, error) {
	start := time.Now()
	cfg, p := opt.Config, opt.Progress
	st, err := store.Open(opt.OutDir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	sum := &RunSummary{Store: st}
	if err := checkFreeSpace(opt.OutDir, MinFreeSpace); err != nil {
		return nil, err
	}
	jobs, err := chooseJobs(opt.Jobs, cfg.MaxSMP(), p)
	if err != nil {
		return nil, err
	}
	sum.Jobs = jobs

	rec, err := startRecord(ctx, st, opt, jobs)
	if err != nil {
		return nil, err
	}
	sum.Kernels = rec.Kernels
	kerns, first, err := fetchKernels(ctx, opt, rec)
	if err != nil {
		return nil, err
	}
	if first == nil {
		return nil, fmt.Errorf("shard %s of %d cells is empty", opt.Shard, len(cfg.Kernels)*len(cfg.Configs))
	}
	if err := st.WriteRun(rec); err != nil {
		return nil, err
	}

	if err := opt.EnsureImage(ctx); err != nil {
		return nil, err
	}
	img := opt.Image
	sum.ImagePath = img.Path

	accel, err := chooseAccel(ctx, opt, first, img.Path)
	if err != nil {
		return nil, err
	}
	sum.Accel = accel
	if accel.Plugin == "" {
		opt.ProfileFirst = false // nothing to profile, and no extra boot
	}

	todo, err := plan(st, opt, rec, kerns, sum)
	if err != nil {
		return nil, err
	}
	p.Begin(len(todo), sum.Skipped, jobs)
	r := &runner{opt: opt, rec: rec, kerns: kerns, image: img.Path, accel: accel, jobs: jobs, sum: sum}
	err = r.runJobs(ctx, todo)
	if err == nil && ctx.Err() == nil && opt.UntilDecided {
		err = r.untilDecided(ctx)
	}
	p.End()
	sum.Wall = time.Since(start)
	if ctx.Err() != nil {
		return sum, fmt.Errorf("run %s: %w (run the same command again to resume)", opt.OutDir, vm.ErrInterrupted)
	}
	return sum, err
}

// fetchKernels fetches the kernels of opt's shard (nil for the others) and
// records each one's release and sha256 in rec, refusing a kernel that is
// not the one the run started with. first is the first fetched.
func fetchKernels(ctx context.Context, opt RunOptions, rec *store.RunRecord) (kerns []*kernels.Kernel, first *kernels.Kernel, err error) {
	cfg, p := opt.Config, opt.Progress
	var downloaded atomic.Int64
	cache := &kernels.Cache{Dir: opt.CacheDir, Downloaded: &downloaded}
	kerns = make([]*kernels.Kernel, len(cfg.Kernels))
	for i, kc := range cfg.Kernels {
		if !opt.Shard.hasKernel(cfg, i) {
			continue
		}
		info := rec.Kernels[i]
		p.Logf("kernel %s: fetching %s", kc.Name, KernelDesc(info))
		downloaded.Store(0)
		done := p.StepDetail("kernel "+kc.Name, func() string {
			if n := downloaded.Load(); n > 0 {
				return fmt.Sprintf("%.1f MB downloaded", float64(n)/1e6)
			}
			return ""
		})
		k, err := cache.Fetch(ctx, kernels.Candidate{Package: info.Package, Version: info.Version, Suite: info.Suite}, kc.Source())
		done()
		if err != nil {
			return nil, nil, fmt.Errorf("kernel %s: %w", kc.Name, err)
		}
		if info.SHA256 != "" && k.SHA256 != info.SHA256 {
			return nil, nil, fmt.Errorf("kernel %s: bzImage sha256 %s differs from %s recorded when the run started", kc.Name, k.SHA256, info.SHA256)
		}
		rec.Kernels[i].Release, rec.Kernels[i].SHA256 = k.Release, k.SHA256
		kerns[i] = k
		if first == nil {
			first = k
		}
	}
	return kerns, first, nil
}

// chooseAccel picks the accelerator (probing a boot of k) and, under TCG,
// the counting plugin, saying why on the progress log.
func chooseAccel(ctx context.Context, opt RunOptions, k *kernels.Kernel, image string) (vm.AccelChoice, error) {
	cfg, p := opt.Config, opt.Progress
	accel, err := vm.ChooseAccel(ctx, cfg.Accel, func(ctx context.Context, accel string) error {
		return probeBoot(ctx, opt, k, image, accel)
	})
	if err != nil {
		return vm.AccelChoice{}, err
	}
	if accel.Note != "" {
		p.Logf("%s", accel.Note)
	}
	plugin, note, err := vm.ChooseInsns(ctx, cmp.Or(opt.Insns, cfg.Insns), accel.Accel, opt.CacheDir)
	if err != nil {
		return vm.AccelChoice{}, err
	}
	if note != "" {
		p.Logf("%s", note)
	}
	accel.Plugin = plugin
	return accel, nil
}

// startRecord reads run.json when resuming (refusing a different config) or
// resolves every kernel and writes a new one.
func startRecord(ctx context.Context, st *store.Store, opt RunOptions, jobs int) (*store.RunRecord, error) {
	cfg := opt.Config
	sum := sha256.Sum256(cfg.src)
	digest := hex.EncodeToString(sum[:])
	old, err := st.ReadRun()
	switch {
	case err == nil:
		if old.ConfigSHA256 != digest {
			return nil, fmt.Errorf("%s holds a run of a different config (see its config.toml): use another output directory", opt.OutDir)
		}
		opt.Progress.Logf("resuming %s", opt.OutDir)
		old.Jobs, old.Command = jobs, opt.Command
		return old, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	rec := &store.RunRecord{
		Schema: store.SchemaVersion, Created: time.Now().UTC(), Config: opt.ConfigPath, ConfigSHA256: digest,
		Boots: cfg.Boots, Retries: cfg.Retries, Jobs: jobs, Accel: cfg.Accel, Command: opt.Command, Host: hostInfo(),
	}
	for _, b := range cfg.Configs {
		rec.Configs = append(rec.Configs, store.BootConfig{Name: b.Name, Cmdline: b.Cmdline, CPU: b.CPU})
	}
	for _, kc := range cfg.Kernels {
		cand, err := kernels.Resolve(ctx, kc.Source())
		if err != nil {
			return nil, fmt.Errorf("kernel %s: %w", kc.Name, err)
		}
		rec.Kernels = append(rec.Kernels, store.KernelInfo{
			Label: kc.Name, Source: kc.Source().String(), Package: cand.Package, Version: cand.Version, Suite: cand.Suite,
		})
	}
	// run.json is written by Run once every kernel is fetched and
	// checked: a run that fails before (a bad sha256, no network) leaves
	// no record, so the same directory takes a corrected config.
	return rec, st.WriteConfig(cfg.src)
}

// plan lists the boots still to run. Boots are interleaved across cells
// (boot 0 of every cell, then boot 1, ...) so that drift in the host's
// speed over a long run touches every cell alike, and a run cut short still
// has every cell.
func plan(st *store.Store, opt RunOptions, rec *store.RunRecord, kerns []*kernels.Kernel, sum *RunSummary) ([]job, error) {
	cfg, shard := opt.Config, opt.Shard
	state, err := st.State()
	if err != nil {
		return nil, err
	}
	var todo []job
	for b := 0; b < opt.cellBoots(); b++ {
		for ki, kc := range cfg.Kernels {
			for ci, bc := range cfg.Configs {
				if !shard.Has(ki*len(cfg.Configs) + ci) {
					continue
				}
				cell := store.CellName(kc.Name, bc.Name)
				st := state[cell][b]
				switch {
				case st.OK:
					sum.Skipped++
				case st.Attempts >= 1+cfg.Retries:
					sum.BadBoots = append(sum.BadBoots, fmt.Sprintf("%s boot %d: %s", cell, b, st.LastReason))
				default:
					todo = append(todo, job{cell: cell, kernel: kerns[ki], info: rec.Kernels[ki], config: bc, boot: b, attempts: st.Attempts})
				}
			}
		}
	}
	return todo, nil
}

// cmdline is the kernel command line of a boot: the base, the boot config's
// arguments, then the guest's parameters.
func cmdline(cfg *Config, bc BootConfig, mode string) string {
	parts := []string{vm.BaseCmdline}
	if s := strings.TrimSpace(bc.Cmdline); s != "" {
		parts = append(parts, s)
	}
	benchtime, _ := time.ParseDuration(cfg.Bench.Benchtime) // checked when the config was read
	p := guest.Params{Run: cfg.Bench.Run, Benchtime: benchtime, Count: cfg.Bench.Count, Mode: guest.Mode(mode)}
	return strings.Join(append(parts, p.Args()...), " ")
}

func vmOptions(opt RunOptions, k *kernels.Kernel, image, accel string, bc BootConfig, mode string) vm.VMOptions {
	return vm.VMOptions{
		QEMU: opt.QEMU, Kernel: k.Path, Initrd: image, Cmdline: cmdline(opt.Config, bc, mode),
		Accel: accel, CPU: cmp.Or(bc.CPU, opt.Config.CPU), SMP: bc.SMP, MemoryMB: opt.Config.MemoryMB,
		Firmware: opt.Config.FirmwareROM(),
	}
}

// ProbeKernel boots k once in probe mode under accel and returns nil if the
// guest powered off with a complete stream before ProbeTimeout.
func ProbeKernel(ctx context.Context, qemu string, k *kernels.Kernel, image, accel string) error {
	cfg := &Config{MemoryMB: 512, Bench: BenchConfig{Run: ".", Benchtime: "10ms", Count: 1}}
	return probeBoot(ctx, RunOptions{Config: cfg, QEMU: qemu}, k, image, accel)
}

// probeBoot boots the first kernel in probe mode under accel.
func probeBoot(ctx context.Context, opt RunOptions, k *kernels.Kernel, image, accel string) error {
	dir, err := os.MkdirTemp("", "kharness-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	spec := vm.BootSpec{VM: vmOptions(opt, k, image, accel, BootConfig{Name: "probe", SMP: 1}, "probe"), Deadline: vm.ProbeTimeout}
	v, err := vm.Boot(ctx, spec, dir+"/console.log", dir+"/results.raw")
	if err != nil {
		return err
	}
	if v.Status != store.StatusOK {
		// A nested KVM that cannot run guests says so on QEMU's stderr,
		// which a hang's reason does not show: name it, and what to try.
		if f := vm.ExplainKVM(v.Reason + "\n" + v.Stderr); f != nil && accel == "kvm" {
			return fmt.Errorf("%s: %s; %v", v.Status, v.Reason, f)
		}
		return fmt.Errorf("%s: %s", v.Status, v.Reason)
	}
	return nil
}

// EnsureImage builds (or finds in the cache) the guest image of the
// source tree into o.Image, unless o already has one.
func (o *RunOptions) EnsureImage(ctx context.Context) error {
	if o.Image != nil {
		return nil
	}
	// On a terminal the build's steps go on the updating line; in a log
	// each is a line.
	var mu sync.Mutex
	step := ""
	log := o.Progress.Logf
	if o.Progress != nil && o.Progress.TTY {
		log = func(format string, args ...any) {
			mu.Lock()
			step = fmt.Sprintf(format, args...)
			mu.Unlock()
		}
	}
	done := o.Progress.StepDetail("guest image", func() string {
		mu.Lock()
		defer mu.Unlock()
		return step
	})
	img, err := initramfs.Build(ctx, initramfs.Options{SourceDir: o.SourceDir, CacheDir: o.CacheDir, Log: log})
	done()
	o.Image = img
	return err
}

// ImageID is the short identity of the guest image at path: the start of
// the input hash its cached file is named by.
func ImageID(path string) string {
	id := strings.TrimSuffix(filepath.Base(path), ".cpio")
	return id[:min(len(id), 16)]
}
