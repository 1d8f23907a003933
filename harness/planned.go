package harness

import (
	"context"

	"kharness/harness/vm"
	"kharness/kernels"
	"kharness/results/store"
)

// PlannedBoot is one boot of a run's matrix, for a job that has another
// system boot it and reads it back (lava).
type PlannedBoot struct {
	Cell   string
	Boot   int
	Kernel *kernels.Kernel // nil when read back
	Info   store.KernelInfo
	Config BootConfig
	VM     vm.VMOptions // the boot's VM under TCG, defaults filled in
}

// PlanBoots starts or resumes opt.OutDir's run as Run does (run.json and
// config.toml), fetches the kernels, builds the guest image into
// opt.Image, and calls each, holding the run's lock, for every boot the
// directory lacks.
func PlanBoots(ctx context.Context, opt *RunOptions, each func(PlannedBoot) error) error {
	st, err := store.Open(opt.OutDir)
	if err != nil {
		return err
	}
	defer st.Close()
	rec, err := startRecord(ctx, st, *opt, 1)
	if err != nil {
		return err
	}
	kerns, _, err := fetchKernels(ctx, *opt, rec)
	if err != nil {
		return err
	}
	if err := st.WriteRun(rec); err != nil {
		return err
	}
	if err := opt.EnsureImage(ctx); err != nil {
		return err
	}
	todo, err := plan(st, *opt, rec, kerns, &RunSummary{})
	if err != nil {
		return err
	}
	for _, j := range todo {
		vmo := vmOptions(*opt, j.kernel, opt.Image.Path, "tcg", j.config, "").WithDefaults()
		if err := each(PlannedBoot{Cell: j.cell, Boot: j.boot, Kernel: j.kernel, Info: j.info, Config: j.config, VM: vmo}); err != nil {
			return err
		}
	}
	return nil
}
