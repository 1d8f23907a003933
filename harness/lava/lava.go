// Package lava writes a config's matrix as LAVA jobs, one a boot, for
// KernelCI's labs or a local lava-run, and reads their logs back into the
// run directory as boots that compare accepts.
package lava

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kharness/harness"
	"kharness/harness/vm"
	"kharness/results/wire"

	"sigs.k8s.io/yaml"
)

// LAVA jobs. `kharness lava` writes, for each boot of a config's matrix, a
// LAVA job definition (device type qemu) and the device description a local
// lava-run needs; the boots' logs come back into the run directory through
// ReadLava. The directory layout, under the run directory:
//
//	RUN/lava/<cell>/boot-NN/job.yaml     the job definition
//	RUN/lava/<cell>/boot-NN/device.yaml  the qemu device as a server renders it for the job's context
//	RUN/lava/<cell>/boot-NN/log.yaml     the job's log (lava-run's stderr, or lavacli jobs logs --raw)
//	RUN/lava/<cell>/boot-NN/console.log  the kernel console (ttyS0), local runs only
//	RUN/lava/<cell>/boot-NN/insns.raw    the counting plugin's output, local runs only
const LavaDir = "lava"

// The files of one LAVA boot's directory.
const (
	LavaJobFile    = "job.yaml"
	LavaDeviceFile = "device.yaml"
	LavaLogFile    = "log.yaml"
)

// LavaMonitor is the name of the monitor that turns the guest's timed
// samples into LAVA test cases: its results are the suite "kharness", one
// case per sample, with the measurement in ns/op.
const LavaMonitor = "kharness"

// LavaOptions say what `kharness lava` writes beyond the matrix.
type LavaOptions struct {
	// URL, when set, is where the kernels and the guest image will be
	// served from (an HTTP directory a LAVA lab can reach): the jobs name
	// BASE/<file> and the files are copied to RUN/lava/files to upload.
	// Empty: the jobs name the cached files by file:// URLs, for a local
	// lava-run.
	URL string
}

// LavaJob is one written job.
type LavaJob struct {
	Cell string
	Boot int
	Dir  string // RUN/lava/<cell>/boot-NN
}

// WriteLava resolves and fetches the matrix's kernels, builds the guest
// image and (under insns auto or on) the counting plugin, and writes a
// LAVA job for each boot of opt.OutDir's matrix that is not yet in the run.
// The run directory gets run.json and config.toml as `run` writes them, so
// that ReadLava's boots are a run that compare accepts.
func WriteLava(ctx context.Context, opt harness.RunOptions, lo LavaOptions) ([]LavaJob, error) {
	cfg := opt.Config
	if cfg.Accel == "kvm" {
		return nil, fmt.Errorf("%s: accel = \"kvm\": kharness's LAVA jobs run QEMU under TCG (a lab's own device type decides for real hardware)", opt.ConfigPath)
	}
	mode := cmp.Or(opt.Insns, cfg.Insns)
	plugin := ""
	if lo.URL == "" {
		var err error
		plugin, _, err = vm.ChooseInsns(ctx, mode, "tcg", opt.CacheDir)
		if err != nil {
			return nil, err
		}
	} else if mode == "on" {
		return nil, fmt.Errorf("%w: a lab's LAVA worker has no counting plugin (-url); use -insns off or auto", vm.ErrNoInsns)
	}
	var out []LavaJob
	err := harness.PlanBoots(ctx, &opt, func(j harness.PlannedBoot) error {
		dir, err := filepath.Abs(filepath.Join(opt.OutDir, LavaDir, j.Cell, fmt.Sprintf("boot-%02d", j.Boot)))
		if err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		job, device, err := lavaJob(opt, lo, j, opt.Image.Path, plugin, dir)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, LavaJobFile), job, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, LavaDeviceFile), device, 0o644); err != nil {
			return err
		}
		out = append(out, LavaJob{Cell: j.Cell, Boot: j.Boot, Dir: dir})
		return nil
	})
	return out, err
}

// lavaJob is one boot's job definition and the device description a local
// lava-run renders for it.
func lavaJob(opt harness.RunOptions, lo LavaOptions, j harness.PlannedBoot, image, plugin, dir string) (job, device []byte, err error) {
	vmo := j.VM
	if plugin != "" {
		vmo.Cmdline += harness.CountedArgs(j.Config.Cmdline)
	}
	// LAVA puts the kernel's arguments in double quotes on the QEMU
	// command line and fills in {kernel}: neither may appear inside.
	if strings.ContainsAny(vmo.Cmdline, "\"{}") {
		return nil, nil, fmt.Errorf("%s: config %s: kernel command line %q holds a double quote or a brace, which a LAVA job's image_arg cannot carry", opt.ConfigPath, j.Config.Name, vmo.Cmdline)
	}
	// The device's own options (the qemu template's) come first; these
	// make the machine kharness's: no default devices, its machine, CPU
	// and memory, the console (ttyS0) to a file and the results port
	// (ttyS1) to QEMU's stdio, which is what LAVA reads.
	// A lab's worker has no such path: its console goes nowhere.
	console := "file:" + filepath.Join(dir, "console.log")
	if lo.URL != "" {
		console = "null"
	}
	extra := []string{
		"-nodefaults -no-user-config -machine pc -accel tcg -cpu " + vmo.CPU + fmt.Sprintf(" -smp %d -no-reboot", vmo.SMP),
		"-serial " + console + " -serial stdio",
	}
	if vmo.Firmware != "" {
		extra = append(extra, "-bios "+vmo.Firmware)
	}
	if plugin != "" {
		extra = append(extra, "-plugin file="+plugin+",out="+filepath.Join(dir, "insns.raw"))
	}
	for _, p := range []string{dir, plugin, vmo.Firmware} {
		if strings.ContainsAny(p, " \t\n\"',") {
			return nil, nil, fmt.Errorf("path %q holds white space, a quote or a comma, which LAVA's QEMU command line cannot carry", p)
		}
	}
	kernelURL, imageURL, err := lavaURLs(opt.OutDir, lo, j.Kernel.Path, image, j.Kernel.SHA256)
	if err != nil {
		return nil, nil, err
	}
	job, err = yaml.Marshal(lavaDefinition(j, vmo, extra, kernelURL, imageURL, opt.Config.BootTimeout()))
	if err != nil {
		return nil, nil, err
	}
	device, err = yaml.Marshal(lavaDevice(vmo.MemoryMB, extra))
	return job, device, err
}

// lavaDefinition is one boot's LAVA job: deploy the kernel and the guest
// image to tmpfs, boot them under QEMU, and a monitor that turns each
// timed sample the guest writes into a test case with its measurement.
func lavaDefinition(j harness.PlannedBoot, vmo vm.VMOptions, extra []string, kernelURL, imageURL string, timeout time.Duration) map[string]any {
	minutes := max(1, int(timeout.Minutes()+0.999))
	return map[string]any{
		"device_type": "qemu",
		"job_name":    fmt.Sprintf("kharness %s boot %d", j.Cell, j.Boot),
		"priority":    "medium",
		"visibility":  "public",
		"timeouts": map[string]any{
			"job":        map[string]int{"minutes": minutes + 5},
			"action":     map[string]int{"minutes": minutes},
			"connection": map[string]int{"minutes": 2},
		},
		"context": map[string]any{
			"arch": "amd64", "no_kvm": true, "memory": vmo.MemoryMB, "extra_options": extra,
		},
		"metadata": map[string]any{
			"kharness.cell": j.Cell, "kharness.boot": j.Boot, "kharness.kernel": j.Info.Label,
			"kharness.kernel-package": harness.KernelDesc(j.Info), "kharness.config": j.Config.Name,
		},
		"actions": []any{
			map[string]any{"deploy": map[string]any{
				"to": "tmpfs", "timeout": map[string]int{"minutes": 5},
				"images": map[string]any{
					"kernel":  map[string]string{"image_arg": "-kernel {kernel} -append \"" + vmo.Cmdline + "\"", "url": kernelURL},
					"ramdisk": map[string]string{"image_arg": "-initrd {ramdisk}", "url": imageURL},
				},
			}},
			map[string]any{"boot": map[string]any{"method": "qemu", "media": "tmpfs", "timeout": map[string]int{"minutes": minutes}}},
			map[string]any{"test": map[string]any{
				"timeout": map[string]int{"minutes": minutes},
				"monitors": []any{map[string]string{
					"name":    LavaMonitor,
					"start":   wire.HeaderKey + ": " + wire.Version,
					"end":     "# kharness-end count=",
					"pattern": `Benchmark(?P<test_case_id>\S+) [0-9]+ (?P<measurement>[0-9.]+) (?P<units>ns/op)`,
				}},
			}},
		},
	}
}

// lavaDevice is the qemu device type as LAVA's qemu.jinja2 renders it for
// a job context of arch amd64, no_kvm, memory and extra_options: what a
// local lava-run needs in place of a server.
func lavaDevice(memoryMB int, extra []string) map[string]any {
	return map[string]any{
		"available_architectures": []string{"amd64", "x86_64"},
		"actions": map[string]any{
			"deploy": map[string]any{
				"connections": map[string]any{"serial": nil},
				"methods":     map[string]any{"image": map[string]any{"parameters": map[string]any{}}},
			},
			"boot": map[string]any{
				"connections": map[string]any{"serial": nil},
				"methods": map[string]any{"qemu": map[string]any{"parameters": map[string]any{
					"command": vm.DefaultQEMU,
					"options": []string{"-nographic", fmt.Sprintf("-m %d", memoryMB), "-monitor none"},
					"extra":   extra,
				}}},
			},
		},
		"timeouts": map[string]any{"actions": map[string]any{}, "connections": map[string]any{}},
	}
}

// lavaURLs are the URLs a job names for a kernel and the guest image:
// file:// URLs of the cached files, or with lo.URL the files' names under
// it, the files copied to RUN/lava/files for upload.
func lavaURLs(run string, lo LavaOptions, kernel, image, kernelSHA string) (k, i string, err error) {
	if lo.URL == "" {
		k, err = filepath.Abs(kernel)
		if err == nil {
			i, err = filepath.Abs(image)
		}
		return "file://" + k, "file://" + i, err
	}
	files := filepath.Join(run, LavaDir, "files")
	if err := os.MkdirAll(files, 0o755); err != nil {
		return "", "", err
	}
	kname := "bzImage-" + kernelSHA[:min(16, len(kernelSHA))]
	iname := filepath.Base(image)
	for src, name := range map[string]string{kernel: kname, image: iname} {
		if err := copyFile(src, filepath.Join(files, name)); err != nil {
			return "", "", err
		}
	}
	base := strings.TrimSuffix(lo.URL, "/")
	return base + "/" + kname, base + "/" + iname, nil
}

// copyFile copies src to dst unless dst exists already (the files are
// named by their content).
func copyFile(src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}
