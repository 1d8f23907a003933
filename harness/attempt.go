package harness

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"kharness/guest"
	"kharness/harness/vm"
	"kharness/results/store"
	"kharness/results/stream"
)

// runJob runs the attempts one boot still has, committing each. A boot that
// succeeds stops; one interrupted by ctx is discarded, never committed, so a
// resumed run does it again.
func (r *runner) runJob(ctx context.Context, j job) error {
	cfg, p, sum, mu := r.opt.Config, r.opt.Progress, r.sum, &r.mu
	for attempt := j.attempts + 1; attempt <= 1+cfg.Retries; attempt++ {
		if ctx.Err() != nil {
			return nil
		}
		att, err := sum.Store.NewAttempt(j.cell, j.boot, attempt)
		if err != nil {
			return err
		}
		rec, first, err := r.attemptBoot(ctx, j, att)
		if errors.Is(err, vm.ErrInterrupted) {
			att.Discard()
			return nil
		}
		if err == nil {
			err = att.Commit(rec)
		}
		if err != nil {
			att.Discard()
			return fmt.Errorf("%s boot %d: %w", j.cell, j.boot, err)
		}
		mu.Lock()
		sum.Boots++
		if !rec.Status.OK() {
			sum.Failed++
		}
		mu.Unlock()
		last := rec.Status.OK() || attempt == 1+cfg.Retries
		p.BootDone(rec, last, first)
		if rec.Status.OK() {
			return nil
		}
		if last {
			mu.Lock()
			sum.BadBoots = append(sum.BadBoots, fmt.Sprintf("%s boot %d: %s: %s", j.cell, j.boot, rec.Status, rec.Reason))
			mu.Unlock()
		}
	}
	return nil
}

// attemptBoot boots once into att's directory and fills the boot's
// record; first is the boot's first result, for the progress log.
func (r *runner) attemptBoot(ctx context.Context, j job, att *store.Attempt) (rec *store.BootRecord, first string, err error) {
	opt, image, accel, jobs := r.opt, r.image, r.accel, r.jobs
	cfg := opt.Config
	vmo := vmOptions(opt, j.kernel, image, accel.Accel, j.config, "")
	spec := vm.BootSpec{Deadline: cfg.BootTimeout()}
	if accel.Plugin != "" {
		vmo.Plugin, vmo.PluginOut = accel.Plugin, att.Path(stream.InsnsFile)
		vmo.Cmdline += CountedArgs(j.config.Cmdline)
		if opt.profiled(j.boot) {
			// The plugin profiles kernel blocks; the guest sends the
			// symbols that name them, about a megabyte.
			vmo.PluginProfile = true
			vmo.Cmdline += " " + strings.Join(guest.Params{Kallsyms: true}.Args(), " ")
			spec.ResultsLimit = stream.ProfileStreamLimit
		}
	}
	spec.VM = vmo
	argv := vmo.WithDefaults().Argv()
	if err := os.WriteFile(att.Path("qemu.argv"), []byte(vm.QuoteArgv(argv)+"\n"), 0o644); err != nil {
		return nil, "", err
	}
	if opt.Verbose {
		opt.Progress.Logf("%s boot %d attempt %d: %s", j.cell, j.boot, att.Attempt, vm.QuoteArgv(argv))
	}
	load := HostLoad()
	started := time.Now().UTC()
	v, err := vm.Boot(ctx, spec, att.Path("console.log"), att.Path("results.raw"))
	if err != nil {
		return nil, "", err
	}
	rec = &store.BootRecord{
		Schema: store.SchemaVersion, Cell: j.cell, Kernel: j.info,
		Config: store.BootConfig{Name: j.config.Name, Cmdline: j.config.Cmdline, CPU: j.config.CPU},
		Boot:   j.boot, Attempt: att.Attempt,
		Accel: v.Accel, AccelRequested: cfg.Accel, AccelNote: accel.Note,
		QEMUVersion: v.QEMUVersion, Machine: v.Machine, Firmware: vm.FirmwareName(vmo.Firmware), QEMUBinary: argv[0], GuestCPU: vmo.WithDefaults().CPU,
		SMP: j.config.SMP, MemoryMB: vmo.WithDefaults().MemoryMB, HostCPU: HostCPU(), Jobs: jobs, HostLoad: load,
		Argv: argv, Started: started, WallSeconds: v.Wall.Seconds(), BootSeconds: v.FirstResult.Seconds(),
		Status: v.Status, Reason: v.Reason, ConsoleTail: v.ConsoleTail, PanicLines: v.PanicLines, Oops: v.Oops,
		Tainted: len(v.Oops) > 0, Profiled: vmo.PluginProfile,
	}
	if v.Status.OK() && vmo.Plugin != "" {
		if err := vm.AddInsns(v.Stream, vmo.PluginOut); err != nil {
			rec.Status, rec.Reason = store.StatusGarbled, err.Error()
		}
	}
	if rec.Status.OK() {
		extra := []stream.KV{
			{Key: "kernel", Value: j.info.Label},
			{Key: "kernel-package", Value: KernelDesc(j.info)},
			{Key: "kernel-sha256", Value: j.kernel.SHA256},
			{Key: "config", Value: j.config.Name},
			{Key: "accel", Value: v.Accel},
			{Key: "qemu-version", Value: v.QEMUVersion},
			{Key: "machine", Value: v.Machine},
			{Key: "firmware", Value: vm.FirmwareName(vmo.Firmware)},
			{Key: "guest-cpu", Value: rec.GuestCPU},
			{Key: "smp", Value: strconv.Itoa(j.config.SMP)},
			{Key: "guest-image", Value: ImageID(image)},
		}
		if vmo.Plugin != "" {
			extra = append(extra, stream.KV{Key: stream.InsnsMethodKey, Value: vm.InsnsMethod})
		}
		if err := WriteBootBench(rec, v.Stream, extra, att.Path(store.BenchFile)); err != nil {
			return nil, "", err
		}
		first = firstResult(v.Stream)
	}
	return rec, first, nil
}

// firstResult is a boot's first benchmark with its exact count and time,
// "NullSyscall/call=getppid 325 insns/op 512 ns/op": a number on screen
// from the first boot on, long before the table.
func firstResult(s *stream.Stream) string {
	if s == nil || len(s.Results) == 0 {
		return ""
	}
	name := s.Results[0].Name
	out := name
	for _, unit := range []string{stream.InsnsUnit, "ns/op"} {
		// The counts are lines of their own, after the timed samples: the
		// first line of the benchmark that has the unit.
	lines:
		for _, r := range s.Results {
			for _, v := range r.Values {
				if r.Name == name && v.Unit == unit {
					out += " " + strconv.FormatFloat(v.Value, 'f', -1, 64) + " " + unit
					break lines
				}
			}
		}
	}
	return stream.SafeText(out, 200)
}

// WriteBootBench writes ok boot rec's boot.bench to path: the host's keys
// extra, then stream. A stream that cannot be stored (valid, but claiming
// a key the host writes, such as kernel: or accel:) fails the boot, with
// its record, rather than the run; the error is for the disk alone.
func WriteBootBench(rec *store.BootRecord, stream *stream.Stream, extra []stream.KV, path string) error {
	var buf bytes.Buffer
	if err := stream.WriteBench(&buf, extra); err != nil {
		rec.Status, rec.Reason = store.StatusGarbled, "the guest's results cannot be stored: "+err.Error()
		return nil
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return err
	}
	s := sha256.Sum256(buf.Bytes())
	rec.BenchSHA256 = hex.EncodeToString(s[:])
	rec.Results = len(stream.Results)
	return nil
}

// HostCPU is the host's CPU model, as /proc/cpuinfo names it (GOARCH where
// it does not).
var HostCPU = sync.OnceValue(func() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
})

func hostInfo() store.HostInfo {
	h := store.HostInfo{CPUModel: HostCPU(), Cores: runtime.NumCPU()}
	h.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	return h
}

// CountedArgs is what a counted boot adds to its command line, after the
// boot config's own (cmdline): the guest's count switch, and tsc=reliable
// unless cmdline sets tsc= itself. Under TCG the kernel's clocksource
// watchdog can mark the TSC unstable when the host stalls the guest, and
// every later context switch then takes sched_clock's unstable path (see
// guest.ClockDescribe): with the watchdog off, as on hardware with an
// invariant TSC, the switch rows' count no longer depends on host load.
// The clocksource stays the TSC; the timed samples of the boot run on it.
func CountedArgs(cmdline string) string {
	s := " " + strings.Join(guest.Params{Insns: true}.Args(), " ")
	for _, w := range strings.Fields(cmdline) {
		if strings.HasPrefix(w, "tsc=") {
			return s
		}
	}
	return s + " tsc=reliable"
}
