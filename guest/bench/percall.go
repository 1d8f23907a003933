//go:build linux

package bench

import (
	"slices"
	"time"

	"kharness/guest"
)

// Per-call tail latency: the null system call with the time stamp counter
// read around every call, so that each sample also says how the single
// calls spread: p50, p99 and p99.9 (in ns, the counter converted by its
// rate over the sample against CLOCK_MONOTONIC), and what the two counter
// reads cost on their own (tsc-overhead-ns, the median of the same loop
// without the call; not subtracted). Mean figures hide what a randomised
// kernel stack offset or a mitigation costs some calls: kernel developers
// measured the 2026 kstack-offset change at +3-15% on the mean and up to
// +155% at p99.

// percallBuf is how many calls one stretch stores; a sample of more runs
// in stretches of this many, folded into its percentiles' sample.
const percallBuf = 1 << 20

// tailUnits are the units a per-call sample's line adds.
const (
	P50Unit         = "p50-ns"
	P99Unit         = "p99-ns"
	P999Unit        = "p999-ns"
	TSCOverheadUnit = "tsc-overhead-ns"
)

func percallStart(time.Duration) (*guest.Instance, error) {
	buf := make([]uint32, percallBuf)
	// A thinned copy of every stretch's deltas: percentiles of up to 4 Mi
	// calls a sample without storing them all.
	var kept []uint32
	var tsc0, tsc1 uint64
	var t0, t1 time.Time
	loop := func(n uint64) {
		kept = kept[:0]
		t0, tsc0 = time.Now(), rdtsc()
		for n > 0 {
			m := min(n, percallBuf)
			getppidTSCLoop(m, &buf[0])
			if n > percallBuf || len(kept) > 0 {
				kept = append(kept, buf[:m]...) // rare: samples of over 1 Mi calls
			}
			n -= m
		}
		tsc1, t1 = rdtsc(), time.Now()
	}
	empty := make([]uint32, 4096)
	return &guest.Instance{
		Loop: loop,
		Extra: func(n uint64) []guest.Value {
			deltas := kept
			if len(deltas) == 0 {
				deltas = buf[:min(n, percallBuf)]
			}
			ns := t1.Sub(t0).Nanoseconds()
			if ns <= 0 || tsc1 <= tsc0 || len(deltas) == 0 {
				return nil
			}
			perTick := float64(ns) / float64(tsc1-tsc0)
			s := slices.Clone(deltas)
			slices.Sort(s)
			q := func(p float64) float64 { return float64(s[min(len(s)-1, int(p*float64(len(s))))]) * perTick }
			emptyTSCLoop(uint64(len(empty)), &empty[0])
			e := slices.Clone(empty)
			slices.Sort(e)
			return []guest.Value{
				{V: q(0.50), Unit: P50Unit}, {V: q(0.99), Unit: P99Unit}, {V: q(0.999), Unit: P999Unit},
				{V: float64(e[len(e)/2]) * perTick, Unit: TSCOverheadUnit},
			}
		},
	}, nil
}
