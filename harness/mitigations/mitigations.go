// Package mitigations prices every mitigation a kernel runs: a matrix of
// the kernel as booted by default, with mitigations=off, and with each
// mitigation it runs turned off by its own argument.
package mitigations

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"kharness/guest"
	"kharness/harness"
	"kharness/results/stats"
	"kharness/results/store"
)

// The price of every mitigation. A probe boot of each kernel reads the
// kernel's view of the CPU's vulnerabilities (the guest writes every file
// of /sys/devices/system/cpu/vulnerabilities into its stream header as
// "vuln-NAME: STATUS"); from those, Mitigations builds the matrix: the
// default, mitigations=off, and one boot config per mitigation the kernel
// runs, with the argument that turns it off; for Meltdown on a CPU that
// needs no PTI, pti=on (the 2018 cost); and randomize_kstack_offset=off,
// the per-syscall hardening. Then it runs the matrix and compares every
// config with the default.

// offArgs maps a vulnerability file to the kernel argument that turns its
// mitigation off (Documentation/admin-guide/kernel-parameters.txt).
var offArgs = map[string]string{
	"meltdown":                  "pti=off",
	"spectre_v1":                "nospectre_v1",
	"spectre_v2":                "spectre_v2=off",
	"spec_store_bypass":         "spec_store_bypass_disable=off",
	"retbleed":                  "retbleed=off",
	"mds":                       "mds=off",
	"tsx_async_abort":           "tsx_async_abort=off",
	"mmio_stale_data":           "mmio_stale_data=off",
	"srbds":                     "srbds=off",
	"l1tf":                      "l1tf=off",
	"gather_data_sampling":      "gather_data_sampling=off",
	"spec_rstack_overflow":      "spec_rstack_overflow=off",
	"reg_file_data_sampling":    "reg_file_data_sampling=off",
	"indirect_target_selection": "indirect_target_selection=off",
	"vmscape":                   "vmscape=off",
	"tsa":                       "tsa=off",
}

// Knob is one boot config of the mitigation matrix.
type Knob struct {
	Config  string // the boot config's name, e.g. "spectre-v2-off"
	Cmdline string // e.g. "spectre_v2=off"
	Why     string // the vulnerabilities and statuses it answers, per kernel
}

// Knobs derives the matrix's configs beyond the default from the vuln-*
// statuses of each kernel (kernel label -> vulnerability -> status): one
// for every mitigation some kernel runs ("Mitigation: ..."), pti=on where
// Meltdown needs none, mitigations=off and randomize_kstack_offset=off.
// Unknown mitigations are named in notes, not guessed at.
func Knobs(vulns map[string]map[string]string) (knobs []Knob, notes []string) {
	byArg := map[string]*Knob{}
	var order []string
	add := func(arg, why string) {
		k := byArg[arg]
		if k == nil {
			name := strings.NewReplacer("_", "-", "=", "-").Replace(arg)
			if arg == "nospectre_v1" {
				name = "spectre-v1-off"
			}
			k = &Knob{Config: name, Cmdline: arg}
			byArg[arg] = k
			order = append(order, arg)
		}
		if why != "" && !strings.Contains(k.Why, why) {
			k.Why = strings.TrimPrefix(k.Why+"; "+why, "; ")
		}
	}
	add("mitigations=off", "")
	for _, kernel := range slices.Sorted(maps.Keys(vulns)) {
		for _, v := range slices.Sorted(maps.Keys(vulns[kernel])) {
			status := vulns[kernel][v]
			switch {
			case strings.HasPrefix(status, "Mitigation"):
				arg, ok := offArgs[v]
				if !ok {
					notes = append(notes, fmt.Sprintf("%s: %s: %q: kharness knows no argument that turns this off", kernel, v, status))
					continue
				}
				add(arg, kernel+": "+v+": "+status)
			case v == "meltdown":
				add("pti=on", kernel+": meltdown: "+status+" (PTI on anyway: the 2018 cost)")
			}
		}
	}
	add("randomize_kstack_offset=off", "the per-syscall kernel stack offset (a hardening, not a vulnerability)")
	for _, a := range order {
		knobs = append(knobs, *byArg[a])
	}
	return knobs, notes
}

// MitigationsOptions says which kernels to price and how.
type MitigationsOptions struct {
	Kernels []harness.KernelConfig // named; a Debian family, package (with suite) or bzImage each
	Boots   int                    // per cell (5 when 0): enough for a Mann-Whitney call
	Bench   string                 // regexp over benchmarks (DefaultMitigationsBench when empty)
	CPU     string                 // guest -cpu for every boot ("" for the accelerator's default)
	Accel   string                 // "auto" when empty
	Run     harness.RunOptions     // OutDir (probe/ and matrix/ go under it), cache, source, QEMU, -j, progress
}

// DefaultMitigationsBench is the entry benchmarks a mitigation's price is
// read on.
const DefaultMitigationsBench = "NullSyscall/call=getppid$|NullSyscall/call=getppid/entry=int80$|Read/file=dev-zero/bytes=1$"

// MitigationsResult is what Mitigations found and ran.
type MitigationsResult struct {
	Vulns  map[string]map[string]string // kernel -> vulnerability -> status, from the probe boots
	Knobs  []Knob
	Notes  []string
	Matrix string // the run directory of the matrix
}

// Mitigations probes each kernel's vulnerabilities, builds the matrix and
// runs it. The caller compares the matrix (stats.Compare, column config).
func Mitigations(ctx context.Context, o MitigationsOptions) (*MitigationsResult, error) {
	if len(o.Kernels) == 0 {
		return nil, fmt.Errorf("mitigations: no kernel")
	}
	if o.Boots == 0 {
		o.Boots = 5
	}
	if o.Bench == "" {
		o.Bench = DefaultMitigationsBench
	}
	if o.Accel == "" {
		o.Accel = "auto"
	}
	p := o.Run.Progress
	probe := mitigationsConfig(o, o.Kernels, nil, true)
	cfg, err := harness.ParseConfig("probe.toml", []byte(probe))
	if err != nil {
		return nil, fmt.Errorf("mitigations: %w", err)
	}
	popt := o.Run
	popt.OutDir, popt.Config, popt.ConfigPath, popt.Insns = filepath.Join(o.Run.OutDir, "probe"), cfg, "probe.toml", "off"
	p.Logf("mitigations: a probe boot of each kernel reads its vulnerabilities")
	if _, err := harness.Run(ctx, popt); err != nil {
		return nil, fmt.Errorf("mitigations: probe boots: %w", err)
	}
	boots, err := store.LoadBoots(popt.OutDir)
	if err != nil {
		return nil, err
	}
	res := &MitigationsResult{Vulns: map[string]map[string]string{}, Matrix: filepath.Join(o.Run.OutDir, "matrix")}
	for _, b := range boots {
		if !b.Status.OK() {
			continue
		}
		vs := map[string]string{}
		for k, v := range stats.StreamConfig(b) {
			if name, ok := strings.CutPrefix(k, guest.VulnPrefix); ok {
				vs[name] = v
			}
		}
		res.Vulns[b.Kernel.Label] = vs
	}
	for _, k := range o.Kernels {
		if len(res.Vulns[k.Name]) == 0 {
			return nil, fmt.Errorf("mitigations: the probe boot of %s reported no vulnerabilities (a kernel without /sys/devices/system/cpu/vulnerabilities, or a failed boot: see %s)", k.Name, popt.OutDir)
		}
	}
	res.Knobs, res.Notes = Knobs(res.Vulns)
	cfg, err = harness.ParseConfig("mitigations.toml", []byte(mitigationsConfig(o, o.Kernels, res.Knobs, false)))
	if err != nil {
		return nil, fmt.Errorf("mitigations: %w", err)
	}
	mopt := o.Run
	mopt.OutDir, mopt.Config, mopt.ConfigPath = res.Matrix, cfg, "mitigations.toml"
	p.Logf("mitigations: %d configs × %d kernels × %d boots", len(res.Knobs)+1, len(o.Kernels), o.Boots)
	if _, err := harness.Run(ctx, mopt); err != nil {
		return res, err
	}
	return res, nil
}

// mitigationsConfig is the matrix file: the kernels, and the default and
// knobs' configs (probe: one boot of the default, the fewest samples).
func mitigationsConfig(o MitigationsOptions, ks []harness.KernelConfig, knobs []Knob, probe bool) string {
	var b strings.Builder
	boots, run, count, benchtime := o.Boots, o.Bench, 5, "50ms"
	if probe {
		boots, run, count, benchtime = 1, "NullSyscall/call=getppid$", 1, "1ms"
	}
	fmt.Fprintf(&b, "# written by kharness mitigations\nboots = %d\nretries = 2\naccel = %q\ntimeout = \"180s\"\n", boots, o.Accel)
	if o.CPU != "" {
		fmt.Fprintf(&b, "cpu = %q\n", o.CPU)
	}
	fmt.Fprintf(&b, "[bench]\nrun = %q\nbenchtime = %q\ncount = %d\n", run, benchtime, count)
	for _, k := range ks {
		b.WriteString(k.TOML())
	}
	fmt.Fprintf(&b, "[[config]]\nname = \"default\"\ncmdline = \"\"\n")
	for _, k := range knobs {
		fmt.Fprintf(&b, "[[config]]\nname = %q\ncmdline = %q\n", k.Config, k.Cmdline)
	}
	return b.String()
}
