package harness

import (
	"bytes"
	"context"
	"errors"
	"kharness/harness/internal/harnesstest"
	"kharness/harness/vm"
	"kharness/results/store"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/u-root/mkuimage/cpio"
)

// benchBoots is how many boots of each kind BenchmarkBootOverhead times:
// $KHARNESS_BENCH_BOOTS, else 5.
func benchBoots(b *testing.B) int {
	s := os.Getenv("KHARNESS_BENCH_BOOTS")
	if s == "" {
		return 5
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("KHARNESS_BENCH_BOOTS=%q: want a positive integer", s)
	}
	return n
}

// bareInitramfs builds testdata/bareinit statically and packs it as /init,
// alone, in a newc cpio under dir.
func bareInitramfs(b *testing.B, dir string) string {
	b.Helper()
	bin := filepath.Join(dir, "init")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./testdata/bareinit")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building bareinit: %v\n%s", err, out)
	}
	return packCPIO(b, filepath.Join(dir, "bare.cpio"), dir, "init")
}

// packCPIO writes a newc cpio at path holding the files of dir named
// names, each executable at the archive's root, and returns path.
func packCPIO(b *testing.B, path, dir string, names ...string) string {
	b.Helper()
	var recs []cpio.Record
	for _, name := range names {
		content, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, cpio.StaticFile(name, string(content), 0o755))
	}
	var buf bytes.Buffer
	w := cpio.Newc.Writer(&buf)
	if err := cpio.WriteRecordsAndDirs(w, recs); err != nil {
		b.Fatal(err)
	}
	if err := cpio.WriteTrailer(w); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// bareQEMU is plain QEMU on kernel and initrd, with kharness's machine and
// firmware (rom for -bios, QEMU's own when "") but none of its sockets, QMP
// or guest: the console on stdout, killed with the caller.
func bareQEMU(ctx context.Context, kernel, initrd, rom string) *exec.Cmd {
	args := []string{"-nodefaults", "-no-user-config", "-display", "none", "-machine", "pc",
		"-accel", "tcg", "-cpu", "qemu64", "-smp", "1", "-m", "512", "-no-reboot",
		"-serial", "stdio",
		"-kernel", kernel, "-initrd", initrd, "-append", vm.BaseCmdline}
	if rom != "" {
		args = append(args, "-bios", rom)
	}
	cmd := exec.CommandContext(ctx, vm.DefaultQEMU, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	return cmd
}

// bareBoot runs plain QEMU on kernel and initrd, with kharness's machine
// and the firmware rom but none of its sockets, QMP or guest, and returns
// its wall time. The guest must power off (not panic) within 60 seconds.
func bareBoot(b *testing.B, kernel, initrd, rom string) time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := bareQEMU(ctx, kernel, initrd, rom)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		b.Fatalf("bare QEMU did not exit within 60s:\n%s", out.Bytes())
	case err != nil:
		b.Fatalf("bare QEMU: %v:\n%s", err, out.Bytes())
	case strings.Contains(out.String(), "Kernel panic") || !strings.Contains(out.String(), "Power down"):
		b.Fatalf("bare guest did not power off cleanly:\n%s", out.Bytes())
	}
	return wall
}

// kharnessBoot runs one harness.Boot of kernel and image in probe mode
// (config lines, end marker, power-off; no benchmark) and returns its
// wall time as the caller sees it.
func kharnessBoot(b *testing.B, kernel, image string) time.Duration {
	b.Helper()
	dir := b.TempDir()
	cfg := &Config{Bench: BenchConfig{Run: ".", Benchtime: "100ms", Count: 1}}
	vmo := vm.VMOptions{Kernel: kernel, Initrd: image, Accel: "tcg", Cmdline: cmdline(cfg, BootConfig{}, "probe")}
	start := time.Now()
	v, err := vm.Boot(context.Background(), vm.BootSpec{VM: vmo, Deadline: 60 * time.Second},
		filepath.Join(dir, "console.log"), filepath.Join(dir, "results.raw"))
	wall := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	if v.Status != store.StatusOK {
		b.Fatalf("probe boot: %s: %s\nconsole:\n%s", v.Status, v.Reason, strings.Join(v.ConsoleTail, "\n"))
	}
	return wall
}

func medianDuration(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// BenchmarkBootOverhead compares one kharness boot (harness.Boot of the
// real image in probe mode) with a bare QEMU boot of the same kernel whose
// /init only powers off: the difference is what kharness's sockets, QMP,
// u-root image and guest program add to every boot. A third boot, bare
// under qboot (where QEMU has it), shows what the firmware option would
// save. Boots rotate, to spread drift in the host's load over all kinds;
// medians are reported.
func BenchmarkBootOverhead(b *testing.B) {
	k, img := harnesstest.Fixture(b)
	bare := bareInitramfs(b, b.TempDir())
	qboot, qbootErr := vm.ResolveFirmware("qboot")
	n := benchBoots(b)
	for range b.N {
		var kh, bb, bq []time.Duration
		kinds := []func(){
			func() { kh = append(kh, kharnessBoot(b, k.Path, img)) },
			func() { bb = append(bb, bareBoot(b, k.Path, bare, "")) },
		}
		if qbootErr == nil {
			kinds = append(kinds, func() { bq = append(bq, bareBoot(b, k.Path, bare, qboot)) })
		}
		for i := range n {
			// Rotate which goes first, so none always follows another.
			for j := range kinds {
				kinds[(i+j)%len(kinds)]()
			}
		}
		mk, mb := medianDuration(kh), medianDuration(bb)
		// Each kharness boot over the bare boot beside it: a slow stretch
		// of a shared host lands on both of a pair, so the median of the
		// pairs' ratios moves less with it than the ratio of medians.
		ratios := make([]time.Duration, n)
		for i := range n {
			ratios[i] = time.Duration(float64(time.Second) * kh[i].Seconds() / bb[i].Seconds())
		}
		paired := medianDuration(ratios).Seconds()
		b.ReportMetric(mk.Seconds(), "kharness-boot-s")
		b.ReportMetric(mb.Seconds(), "bare-boot-s")
		b.ReportMetric(mk.Seconds()/mb.Seconds(), "x-bare")
		b.ReportMetric(paired, "x-bare-paired")
		b.Logf("kernel %s, %d boots each: kharness median %v %v, bare median %v %v: %.2fx bare (+%v); median of the pairs' ratios %.2fx",
			k.Release, n, mk.Round(time.Millisecond), roundAll(kh), mb.Round(time.Millisecond), roundAll(bb),
			mk.Seconds()/mb.Seconds(), (mk - mb).Round(time.Millisecond), paired)
		if qbootErr == nil {
			mq := medianDuration(bq)
			b.ReportMetric(mq.Seconds(), "bare-qboot-boot-s")
			b.Logf("bare under qboot: median %v %v, %.2fx the bare boot under SeaBIOS", mq.Round(time.Millisecond), roundAll(bq), mq.Seconds()/mb.Seconds())
		}
	}
	// The figures are per boot, not per b.N iteration.
	b.ReportMetric(0, "ns/op")
}

func roundAll(d []time.Duration) string {
	s := make([]string, len(d))
	for i, x := range d {
		s[i] = x.Round(10 * time.Millisecond).String()
	}
	return "[" + strings.Join(s, " ") + "]"
}

// BenchmarkNullSyscallBoot runs one full boot with the default benchmark
// settings (run ".", benchtime 100ms, count 10) and reports the guest's
// median NullSyscall time, so make bench shows the number kharness exists
// to measure, under TCG here.
func BenchmarkNullSyscallBoot(b *testing.B) {
	k, img := harnesstest.Fixture(b)
	for range b.N {
		dir := b.TempDir()
		cfg := &Config{Bench: BenchConfig{Run: "NullSyscall/call=getppid$", Benchtime: "100ms", Count: 10}}
		vmo := vm.VMOptions{Kernel: k.Path, Initrd: img, Accel: "tcg", Cmdline: cmdline(cfg, BootConfig{}, "")}
		v, err := vm.Boot(context.Background(), vm.BootSpec{VM: vmo, Deadline: 120 * time.Second},
			filepath.Join(dir, "console.log"), filepath.Join(dir, "results.raw"))
		if err != nil {
			b.Fatal(err)
		}
		if v.Status != store.StatusOK {
			b.Fatalf("boot: %s: %s\nconsole:\n%s", v.Status, v.Reason, strings.Join(v.ConsoleTail, "\n"))
		}
		var ns []float64
		for _, r := range v.Stream.Results {
			if strings.HasPrefix(r.Name, "NullSyscall") && len(r.Values) > 0 && r.Values[0].Unit == "ns/op" {
				ns = append(ns, r.Values[0].Value)
			}
		}
		if len(ns) == 0 {
			b.Fatalf("no NullSyscall ns/op in the stream:\n%s", v.Stream.Raw)
		}
		slices.Sort(ns)
		med := ns[len(ns)/2]
		if len(ns)%2 == 0 {
			med = (ns[len(ns)/2-1] + ns[len(ns)/2]) / 2
		}
		b.ReportMetric(med, "guest-null-syscall-ns")
		b.ReportMetric(v.Wall.Seconds(), "boot-s")
		b.Logf("kernel %s under %s: guest NullSyscall median %.1f ns/op over %d samples (%.1f..%.1f), boot %v",
			k.Release, v.Accel, med, len(ns), ns[0], ns[len(ns)-1], v.Wall.Round(time.Millisecond))
	}
	b.ReportMetric(0, "ns/op")
}
