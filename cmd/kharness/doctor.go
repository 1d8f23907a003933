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

	"kharness/harness"
	"kharness/kernels"
)

// doctorCmd is "kharness doctor": in one screen, what this host offers a
// run (QEMU and its TCG plugin support, KVM or why not, cores and the
// automatic -j, the cache, the Debian kernels apt sees) and what it lacks,
// with the command that installs it. It boots nothing; exit status 1 when
// something a run needs is missing.
func doctorCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fset.SetOutput(stderr)
	cache := fset.String("cache", "", "cache directory (default $KHARNESS_CACHE or ~/.cache/kharness)")
	qemu := fset.String("qemu", harness.DefaultQEMU, "QEMU binary")
	if err := fset.Parse(args); err != nil || fset.NArg() != 0 {
		return errUsage
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	missing := 0
	line := func(ok bool, what, detail string) {
		mark := "ok"
		if !ok {
			mark = "MISSING"
			missing++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", mark, what, detail)
	}
	note := func(what, detail string) { fmt.Fprintf(tw, "--\t%s\t%s\n", what, detail) }

	if path, err := exec.LookPath(*qemu); err != nil {
		line(false, "QEMU", *qemu+" not found: apt-get install -y qemu-system-x86")
	} else {
		v, _ := exec.CommandContext(ctx, path, "--version").Output()
		first, _, _ := strings.Cut(string(v), "\n")
		line(true, "QEMU", path+": "+strings.TrimSpace(first))
		if exportsPluginAPI(path) {
			note("TCG plugins", "QEMU exports the plugin API: exact instruction counts under TCG")
		} else {
			note("TCG plugins", "QEMU exports no plugin API (built without --enable-plugins): runs time only")
		}
	}
	if gcc, err := exec.LookPath("gcc"); err != nil {
		note("gcc", "not found: no counting plugin and no C reference (apt-get install -y gcc)")
	} else {
		note("gcc", gcc+": builds the counting plugin and the fidelity check's C reference")
	}
	if err := harness.CheckKVMDevice(); err != nil {
		note("KVM", fmt.Sprintf("not usable (%v): runs use TCG", err))
	} else {
		note("KVM", "the device answers; `accel = \"auto\"` still probes a boot before trusting it")
	}
	cores := runtime.NumCPU()
	load := harness.HostLoad()
	j := harness.AutoJobs(cores, 1, load[0])
	note("cores", fmt.Sprintf("%d; load %.2f %.2f %.2f; automatic -j %d for one-vCPU guests", cores, load[0], load[1], load[2], j))
	if *cache == "" {
		d, err := kernels.DefaultCacheDir()
		if err != nil {
			line(false, "cache", err.Error())
		} else {
			*cache = d
		}
	}
	if *cache != "" {
		size, n := kernels.DirSize(*cache)
		note("cache", fmt.Sprintf("%s: %.1f MB in %d files (kernels, guest images, plugin, Debian's suites' lists)", *cache, float64(size)/1e6, n))
	}
	for _, tool := range []string{"apt-cache", "apt-get", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			line(false, tool, "not found: Debian kernels cannot be fetched (a kernel given as path = works)")
		}
	}
	for _, fam := range []string{"6.1", "6.12"} {
		cs, err := kernels.ListFamily(ctx, fam, "")
		if err != nil {
			note("kernels "+fam, fmt.Sprintf("none in the system's apt lists (%v)", firstLine(err.Error())))
			continue
		}
		note("kernels "+fam, fmt.Sprintf("%d in the system's apt lists, newest %s", len(cs), cs[len(cs)-1].Release))
	}
	note("other suites", "`kharness kernels` lists every Debian suite's kernels (6.1 .. 7.x)")
	if _, err := exec.LookPath("go"); err != nil {
		line(false, "go", "not found: the guest image is built with the Go toolchain")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if missing > 0 {
		return fmt.Errorf("%d things a run needs are missing (see MISSING above)", missing)
	}
	return nil
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
