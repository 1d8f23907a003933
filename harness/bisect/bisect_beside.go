package bisect

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"kharness/harness"
	"kharness/results/stats"
	"kharness/results/store"
)

// Beside is the BesideFunc over real kernels, for a timed bisection: kernel
// i and both endpoints in one run (OutDir/beside/<i>-<settings>), their
// boots alternating, so that the three are measured on the same host at
// the same time. Under TCG the guest's time follows the host's; endpoints
// booted minutes before a candidate judged every later kernel bad on a
// host that had grown busier (6.16.12 named where the counts moved at
// 7.1.3). The run is resumed as boots are added, and the host guard pools
// its boots only.
func (kb *KernelBisect) Beside(ctx context.Context, i, boots int) (xs, g, b []float64, err error) {
	src := kb.besideConfig(i)
	sum := sha256.Sum256([]byte(src))
	cfg, err := harness.ParseConfig("bisect-beside.toml", []byte(src))
	if err != nil {
		return nil, nil, nil, err
	}
	re, err := regexp.Compile(kb.Bench)
	if err != nil {
		return nil, nil, nil, err
	}
	label := harness.KernelLabel(kb.Kernels[i])
	opt := kb.Run
	opt.Config, opt.ConfigPath, opt.Boots = cfg, "bisect-beside.toml", boots
	opt.OutDir = filepath.Join(kb.Run.OutDir, "beside", label+"-"+hex.EncodeToString(sum[:4]))
	if _, err := harness.Run(ctx, opt); err != nil {
		return nil, nil, nil, fmt.Errorf("kernel %s beside the endpoints: %w", label, err)
	}
	recs, err := store.LoadBoots(opt.OutDir)
	if err != nil {
		return nil, nil, nil, err
	}
	guard := stats.Guard(recs, cmp.Or(kb.SlowFactor, stats.DefaultSlowFactor)) // loaded and guarded once, read per kernel
	var out [3][]float64
	for j, k := range []int{i, kb.Good, kb.Bad} {
		keep := func(r *store.BootRecord) bool { return r.Kernel.Label == harness.KernelLabel(kb.Kernels[k]) }
		vals, _, _, err := guard.Samples(keep, re, kb.Unit, kb.Stat)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("kernel %s beside the endpoints: %w", label, err)
		}
		if len(vals) == 0 {
			return nil, nil, nil, fmt.Errorf("kernel %s beside the endpoints: no usable boot of %s (see %s)", label, harness.KernelLabel(kb.Kernels[k]), opt.OutDir)
		}
		out[j] = vals
	}
	return out[0], out[1], out[2], nil
}

// besideConfig is the matrix of kernel i beside both endpoints: the
// kernels as kernelConfig names them, under one boot config.
func (kb *KernelBisect) besideConfig(i int) string {
	var s strings.Builder
	fmt.Fprintf(&s, "# written by kharness: kernel %s beside the endpoints of a timed bisection\nboots = %d\nretries = 1\naccel = %q\ninsns = \"auto\"\ntimeout = \"120s\"\n",
		harness.KernelLabel(kb.Kernels[i]), max(kb.Params.StartBoots, 1), kb.Accel)
	fmt.Fprintf(&s, "[bench]\nrun = %q\nbenchtime = %q\ncount = %d\n", kb.Bench, kb.Benchtime, kb.Count)
	for _, k := range []int{kb.Good, i, kb.Bad} {
		c := kb.Kernels[k]
		s.WriteString(harness.KernelConfig{Name: harness.KernelLabel(c), Package: c.Package, Suite: c.Suite}.TOML())
	}
	fmt.Fprintf(&s, "[[config]]\nname = \"bisect\"\ncmdline = %q\n", kb.Cmdline)
	return s.String()
}
