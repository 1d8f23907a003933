// Package wire is the contract between the guest program and the host:
// the stream's header and end marker, the comment prefixes, the config
// keys and the unit and name suffixes that the guest (package guest)
// writes and the host (package results) reads. Each is written once,
// here; neither side spells one out itself.
package wire

const (
	// HeaderKey and Version make the stream's first line,
	// "kharness-stream: 1".
	HeaderKey = "kharness-stream"
	Version   = "1"
	// EndMarker starts the stream's last line,
	// "# kharness-end count=N sha256=HEX".
	EndMarker = "# kharness-end"
)

// Units the guest adds to a sample's line.
const (
	// RefUnit is the host reference loop timed around a sample, ns an
	// iteration (benchfmt tidies it to "ref-sec/op").
	RefUnit = "ref-ns/op"
	// OverheadUnit is a subtracted overhead timed beside a sample.
	OverheadUnit = "overhead-ns/op"
	// RawUnit is a sample before its overhead was subtracted.
	RawUnit = "raw-ns/op"
)

// Comment prefixes (after "# ").
const (
	// FailedSamplePrefix starts the comment of a sample with no number,
	// "failed-sample BenchmarkX: why".
	FailedSamplePrefix = "failed-sample "
	// InsnsCommentPrefix starts the comment of a count phase,
	// "insns BenchmarkX iters=K ops-per-iter=O reps=R".
	InsnsCommentPrefix = "insns "
	// InsnsNonePrefix starts the comment the host (never the guest)
	// writes into boot.bench for a counted benchmark that has no count,
	// "insns-none BenchmarkX: why": its stretches gave no one answer.
	InsnsNonePrefix = "insns-none "
	// KallsymsPrefix starts a chunk of the kernel's text symbols
	// (kharness.kallsyms=1); KallsymsNonePrefix says why there are none.
	KallsymsPrefix     = "kallsyms "
	KallsymsNonePrefix = "kallsyms-none "
)

// Benchmark name suffixes of the fidelity check's two implementations.
const (
	ImplGo = "/impl=go"
	ImplC  = "/impl=c"
)

// Config keys of the stream header the host reads.
const (
	// VulnPrefix starts a key per file of
	// /sys/devices/system/cpu/vulnerabilities: "vuln-meltdown".
	VulnPrefix = "vuln-"
	// CPUVendorKey is the guest CPU's vendor_id.
	CPUVendorKey = "cpu-vendor"
	// Vsyscall32Key says what __kernel_vsyscall executes: sysenter,
	// syscall or int80.
	Vsyscall32Key = "vsyscall32"
	// InsnsSchedKey says under which scheduling policy the count phase
	// of the benchmarks with peer tasks ran: "fifo: ...".
	InsnsSchedKey = "insns-sched"
	// InsnsClockKey says which clocksource the count phase of switching
	// benchmarks ran on, and whether the kernel's watchdog could take
	// it away mid-boot: "tsc; watchdog off (tsc=reliable) ...".
	InsnsClockKey = "insns-clock"
)

// InsnsTagDigits is the length of InsnsTag's answer.
const InsnsTagDigits = 8

// InsnsTag is the tag of benchmark name (without "Benchmark") that the
// guest sends the counting plugin before each count phase, one hex digit a
// marker, and the plugin writes on the phase's "B" line: eight lower-case
// hex digits of the name's 32-bit FNV-1a hash. The host pairs the plugin's
// groups of stretches with the guest's "insns" comments by it.
func InsnsTag(name string) string {
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h ^= uint32(name[i])
		h *= 16777619
	}
	const hex = "0123456789abcdef"
	var b [InsnsTagDigits]byte
	for i := range b {
		b[i] = hex[h>>(28-4*i)&0xf]
	}
	return string(b[:])
}
