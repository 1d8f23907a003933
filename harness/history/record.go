package history

import (
	"time"

	"kharness/results/store"
)

// HistoryRecord is DIR/<key>/history.json, written when a kernel's boots
// end: the next invocation skips the kernel.
type HistoryRecord struct {
	Kernel   store.KernelInfo `json:"kernel"`
	Upstream string           `json:"upstream"`
	Status   string           `json:"status"` // "complete" or "failed"
	Reason   string           `json:"reason,omitempty"`
	Boots    int              `json:"boots"`
	Started  time.Time        `json:"started"`
	Wall     float64          `json:"wall_seconds"`
	Benches  []HistoryPoint   `json:"benchmarks"`
	// Method is the HistoryMethod the kernel was counted by; a record of
	// another is counted again.
	Method int `json:"method"`
}

// HistoryMethod numbers how a history counts, so that a history made by
// an older kharness is not mixed with a new one: 2 counts with the TSC's
// watchdog off (tsc=reliable, harness.CountedArgs), so every switch takes
// sched_clock's stable path; 1 (or none) did not, and a busy host could
// put a kernel's switch rows on the unstable path, +232 to +392 kernel
// instructions a pipe round trip.
const HistoryMethod = 2

// HistoryPoint is one benchmark's exact kernel instructions per operation
// on one kernel, with its functions.
type HistoryPoint struct {
	Name   string    `json:"benchmark"`
	Kinsns float64   `json:"kinsns_per_op"`
	Boots  []float64 `json:"boots"` // each profiled boot's kinsns/op
	// Boot is the directory of the boot the functions come from (one with
	// the most common count), relative to the history's directory.
	Boot  string             `json:"boot"`
	Funcs map[string]float64 `json:"functions"` // kernel instructions per operation
}
