package bisect

import (
	"context"
	"testing"
	"time"

	"kharness/harness"
	"kharness/harness/internal/harnesstest"
	"kharness/kernels"
	"kharness/results/store"
)

// TestKernelBisectBootsMoreWhenSlow: a released-kernel bisection's
// SampleFunc brings a kernel to the boots asked for in usable boots,
// making another boot for each one the host guard sets aside, up to
// maxBootsFactor times the boots asked for. The host cannot be made slow
// on demand, so the guard is made strict instead: with a factor just
// above 1 about half the samples of any boot read "slow" (their reference
// is above the pooled median), and a boot with half or more of them is
// set aside whole; real boots, real references.
func TestKernelBisectBootsMoreWhenSlow(t *testing.T) {
	harnesstest.Fixture(t)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	cand, err := kernels.Resolve(ctx, kernels.Source{Family: "6.1", Flavour: kernels.DefaultFlavour})
	if err != nil {
		t.Fatal(err)
	}
	srcDir := harnesstest.Source(t)
	kb := &KernelBisect{
		Kernels: []kernels.Candidate{cand}, Bench: "NullSyscall/call=getppid$", Unit: "sec/op",
		SlowFactor: 1.0001, Benchtime: "10ms", Count: 4, Accel: "tcg",
		Params: BisectParams{StartBoots: 2},
		Run:    harness.RunOptions{OutDir: t.TempDir(), CacheDir: harnesstest.Cache(t), SourceDir: srcDir},
	}
	const want = 2
	vals, err := kb.Samples(ctx, 0, want)
	if err != nil {
		t.Fatal(err)
	}
	boots, err := store.LoadBoots(kb.dirs()...)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kb.GuardStats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d usable of %d boots; %s", len(vals), len(boots), st)
	if len(boots)-st.WholeBoot != len(vals) {
		t.Errorf("%d boots, %d set aside whole, but %d values", len(boots), st.WholeBoot, len(vals))
	}
	switch {
	case len(boots) > maxBootsFactor*want:
		t.Errorf("%d boots: more than the cap of %d", len(boots), maxBootsFactor*want)
	case len(vals) < want && len(boots) != maxBootsFactor*want:
		t.Errorf("%d usable boots of %d asked for, but it stopped at %d boots, short of the cap", len(vals), want, len(boots))
	case st.WholeBoot > 0 && len(boots) <= want:
		t.Errorf("%d boots set aside whole, but only the %d boots asked for were made", st.WholeBoot, len(boots))
	}
}
