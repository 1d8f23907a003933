//go:build linux

package guest

import (
	"time"

	"kharness/results/wire"
)

// The host reference: a fixed piece of user-space work, the same in every
// boot of one guest image, timed around each sample. It makes no system
// call, so the kernel under test does not change its cost; what does is
// the host. Under TCG on a shared host, whole boots, or stretches of a
// boot, run 1.5-1.9x slower across every benchmark (a busy sibling
// hardware thread, host memory placement): the reference slows with them,
// and results can set those samples aside instead of calling a kernel
// slow for the host's sake.

// RefUnit is the unit of the reference's figure on each Benchmark line:
// nanoseconds per reference iteration, the slower of the runs just before
// and just after the sample.
const RefUnit = wire.RefUnit

// refIters is the reference's fixed iteration count: about 2 ms under TCG,
// a fraction of a millisecond under KVM.
const refIters = 1 << 19

// refWords is the reference's working set, 64 pages of 8-byte words,
// touched one word a page (a stride of a page and a cache line), so that
// the run goes through memory as well as the ALU.
var refWords [64 * 4096 / 8]uint64

// refSink keeps the reference's sum alive.
var refSink uint64

// refLoop runs n reference iterations.
//
//go:noinline
func refLoop(n uint64) uint64 {
	var sum uint64
	off := 0
	for ; n > 0; n-- {
		v := refWords[off]
		sum += v
		refWords[off] = v + 1
		off = (off + (4096+64)/8) & (len(refWords) - 1)
	}
	return sum
}

// hostRef times one run of the reference and returns nanoseconds per
// iteration.
func hostRef() float64 {
	start := time.Now()
	refSink += refLoop(refIters)
	return float64(time.Since(start).Nanoseconds()) / refIters
}
