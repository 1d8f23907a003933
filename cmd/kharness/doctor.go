package main

import (
	"context"
	"debug/elf"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"kharness/harness"
	"kharness/harness/vm"
	"kharness/kernels"
)

// doctorCmd is "kharness doctor": in one screen, what this host offers a
// run (QEMU and its TCG plugin support, KVM or why not, cores and the
// automatic -j, the cache, the Debian kernels apt sees) and what it lacks,
// with the command that installs it. It boots no kernel (where /dev/kvm
// answers, QEMU's firmware runs under KVM for a moment, to see that a
// guest can run); exit status 1 when something a run needs is missing.
func doctorCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fset.SetOutput(stderr)
	cache := fset.String("cache", "", "cache directory (default $KHARNESS_CACHE or ~/.cache/kharness)")
	qemu := fset.String("qemu", vm.DefaultQEMU, "QEMU binary")
	if err := fset.Parse(args); err != nil || fset.NArg() != 0 {
		return errUsage
	}
	r := &doctorReport{tw: tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)}
	doctorTools(ctx, r, *qemu)
	doctorHost(ctx, r, *qemu, *cache)
	doctorKernels(ctx, r)
	if err := r.tw.Flush(); err != nil {
		return err
	}
	if r.missing > 0 {
		return fmt.Errorf("%d things a run needs are missing (see MISSING above)", r.missing)
	}
	return nil
}

// doctorReport is doctor's table: a line a finding, MISSING for what a run
// needs and lacks.
type doctorReport struct {
	tw      *tabwriter.Writer
	missing int
}

func (r *doctorReport) line(ok bool, what, detail string) {
	mark := "ok"
	if !ok {
		mark = "MISSING"
		r.missing++
	}
	fmt.Fprintf(r.tw, "%s\t%s\t%s\n", mark, what, detail)
}

func (r *doctorReport) note(what, detail string) { fmt.Fprintf(r.tw, "--\t%s\t%s\n", what, detail) }

// checkKVMDevice is vm.CheckKVMDevice; a test stands in a device
// that answers, which no machine here has.
var checkKVMDevice = vm.CheckKVMDevice

// kvmFirmwareTime is how long doctor lets the firmware run under KVM.
var kvmFirmwareTime = 3 * time.Second

// doctorKVMGuest reports whether a /dev/kvm that answers its ioctls can
// run a guest: QEMU's firmware under -cpu host, and under -cpu qemu64 where
// host stops on a known failure. A nested KVM that cannot is explained
// (vm.KVMFailures) with what to try.
func doctorKVMGuest(ctx context.Context, r *doctorReport, qemu string) {
	if _, err := exec.LookPath(qemu); err != nil {
		r.note("KVM", "the device answers; no QEMU to run a guest on it")
		return
	}
	var seen []string
	for _, cpu := range []string{"host", "qemu64"} {
		out, exited, err := vm.FirmwareUnderKVM(ctx, qemu, cpu, kvmFirmwareTime)
		f := vm.ExplainKVM(out)
		switch {
		case err != nil:
			r.note("KVM", fmt.Sprintf("the device answers; QEMU could not be started to run a guest on it: %v", err))
			return
		case f != nil:
			r.note("KVM -cpu "+cpu, "the device answers but cannot run a guest: "+f.Said())
			seen = append(seen, f.Sign)
			continue
		case exited:
			r.note("KVM -cpu "+cpu, "the device answers but QEMU stopped under it: "+firstLine(strings.TrimSpace(out)))
			continue
		case len(seen) > 0:
			r.note("KVM -cpu "+cpu, fmt.Sprintf("the firmware ran %v: set cpu = %q in the config for KVM (-cpu host stopped on %q)", kvmFirmwareTime, cpu, seen[0]))
		default:
			r.note("KVM", fmt.Sprintf("the device answers and ran QEMU's firmware for %v; `accel = \"auto\"` still probes a boot before trusting it", kvmFirmwareTime))
		}
		return
	}
	r.note("KVM", "runs fall back to TCG (accel = \"auto\"); try: "+vm.KVMTryElsewhere)
}

// doctorTools checks QEMU (and its plugin API), gcc, the apt tools and Go.
func doctorTools(ctx context.Context, r *doctorReport, qemu string) {
	if path, err := exec.LookPath(qemu); err != nil {
		r.line(false, "QEMU", qemu+" not found: apt-get install -y qemu-system-x86")
	} else {
		v, _ := exec.CommandContext(ctx, path, "--version").Output()
		first, _, _ := strings.Cut(string(v), "\n")
		r.line(true, "QEMU", path+": "+strings.TrimSpace(first))
		if exportsPluginAPI(path) {
			r.note("TCG plugins", "QEMU exports the plugin API: exact instruction counts under TCG")
		} else {
			r.note("TCG plugins", "QEMU exports no plugin API (built without --enable-plugins): runs time only")
		}
		if _, err := vm.ResolveFirmware("qboot"); err == nil {
			r.note("firmware", "SeaBIOS; firmware = \"qboot\" ("+vm.QbootROM+") boots ACPI kernels sooner")
		} else {
			r.note("firmware", "SeaBIOS; no qboot ("+vm.QbootROM+" not found)")
		}
	}
	if gcc, err := exec.LookPath("gcc"); err != nil {
		r.note("gcc", "not found: no counting plugin and no C reference (apt-get install -y gcc)")
	} else {
		r.note("gcc", gcc+": builds the counting plugin and the fidelity check's C reference")
	}
	for _, tool := range []string{"apt-cache", "apt-get", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			r.line(false, tool, "not found: Debian kernels cannot be fetched (a kernel given as path = works)")
		}
	}
	if _, err := exec.LookPath("go"); err != nil {
		r.line(false, "go", "not found: the guest image is built with the Go toolchain")
	}
}

// doctorHost reports KVM, the cores and load with the -j they give, and
// the cache.
func doctorHost(ctx context.Context, r *doctorReport, qemu, cache string) {
	if err := checkKVMDevice(); err != nil {
		r.note("KVM", fmt.Sprintf("not usable (%v): runs use TCG", err))
	} else {
		doctorKVMGuest(ctx, r, qemu)
	}
	cores := runtime.NumCPU()
	load := harness.HostLoad()
	j := harness.AutoJobs(cores, 1, load[0])
	r.note("cores", fmt.Sprintf("%d; load %.2f %.2f %.2f; automatic -j %d for one-vCPU guests", cores, load[0], load[1], load[2], j))
	if cache == "" {
		d, err := kernels.DefaultCacheDir()
		if err != nil {
			r.line(false, "cache", err.Error())
			return
		}
		cache = d
	}
	size, n := kernels.DirSize(cache)
	r.note("cache", fmt.Sprintf("%s: %.1f MB in %d files (kernels, guest images, plugin, Debian's suites' lists)", cache, float64(size)/1e6, n))
}

// doctorKernels reports the Debian kernels the system's apt lists hold.
func doctorKernels(ctx context.Context, r *doctorReport) {
	for _, fam := range []string{"6.1", "6.12"} {
		cs, err := kernels.ListFamily(ctx, fam, "")
		if err != nil {
			r.note("kernels "+fam, fmt.Sprintf("none in the system's apt lists (%v)", firstLine(err.Error())))
			continue
		}
		r.note("kernels "+fam, fmt.Sprintf("%d in the system's apt lists, newest %s", len(cs), cs[len(cs)-1].Release))
	}
	r.note("other suites", "`kharness kernels` lists every Debian suite's kernels (6.1 .. 7.x)")
}

// exportsPluginAPI reports whether the QEMU binary at path exports the TCG
// plugin API (qemu_plugin_* dynamic symbols), which a QEMU built with
// plugin support does for the plugins it loads.
func exportsPluginAPI(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		return false
	}
	for _, s := range syms {
		if strings.HasPrefix(s.Name, "qemu_plugin_register_vcpu_tb_trans_cb") {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	if len(l) > 120 {
		l = l[:120] + "..."
	}
	return l
}
