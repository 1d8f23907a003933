package store

import (
	"encoding/json"
	"fmt"
	"kharness/results/stream"
	"time"
)

// SchemaVersion is the version of run.json and boot.json written by this
// package. Readers refuse records with a newer schema.
const SchemaVersion = 1

// KernelInfo identifies one kernel of the matrix, as resolved when a run
// first started.
type KernelInfo struct {
	Label   string `json:"label"`           // the name used in cell names
	Source  string `json:"source"`          // where it came from: a path, a URL, a package
	Package string `json:"package"`         // distribution package name, if any
	Version string `json:"version"`         // package version, if any
	Suite   string `json:"suite,omitempty"` // the Debian suite it came from, when not the system's apt lists
	Release string `json:"release"`         // uname -r of the kernel
	SHA256  string `json:"sha256"`          // of the kernel image
}

// BootConfig is one boot configuration of the matrix: a name and the extra
// kernel command line it adds.
type BootConfig struct {
	Name    string `json:"name"`
	Cmdline string `json:"cmdline"`
	CPU     string `json:"cpu,omitempty"` // the guest -cpu the config chose, if it chose one
}

// HostInfo describes the machine a run happened on.
type HostInfo struct {
	Hostname string `json:"hostname"`
	CPUModel string `json:"cpu_model"`
	Cores    int    `json:"cores"`
	Kernel   string `json:"kernel"`
}

// RunRecord is RUN/run.json: what a run was asked to do. It is written when
// a run starts and rewritten on resume; Kernels are resolved at the first
// start and reused on resume, so that a distribution rotating its packages
// cannot change the kernels of a run half way.
type RunRecord struct {
	Schema       int          `json:"schema"`
	Created      time.Time    `json:"created"`
	Config       string       `json:"config"` // the path given on the command line
	ConfigSHA256 string       `json:"config_sha256"`
	Kernels      []KernelInfo `json:"kernels"`
	Configs      []BootConfig `json:"configs"`
	Boots        int          `json:"boots"`   // boots per cell
	Retries      int          `json:"retries"` // extra attempts per boot
	Jobs         int          `json:"jobs"`
	Accel        string       `json:"accel"` // as requested
	Command      []string     `json:"command"`
	Host         HostInfo     `json:"host"`
}

// Status is the outcome of one boot attempt.
type Status string

// The outcomes of a boot attempt. Only StatusOK carries results.
const (
	StatusOK          Status = "ok"
	StatusHang        Status = "hang"
	StatusPanic       Status = "panic"
	StatusOops        Status = "oops"
	StatusFlood       Status = "flood"
	StatusGarbled     Status = "garbled"
	StatusTruncated   Status = "truncated"
	StatusMiscount    Status = "miscount"
	StatusQEMUFailed  Status = "qemu-failed"
	StatusQEMUExit    Status = "qemu-exit"
	StatusInterrupted Status = "interrupted"
	StatusError       Status = "error"
)

// OK reports whether s is StatusOK, the only status whose boot has results.
func (s Status) OK() bool { return s == StatusOK }

// BootRecord is boot.json: everything about one committed boot attempt.
type BootRecord struct {
	Schema  int        `json:"schema"`
	Cell    string     `json:"cell"`
	Kernel  KernelInfo `json:"kernel"`
	Config  BootConfig `json:"config"`
	Boot    int        `json:"boot"`    // boot index in the cell, from 0
	Attempt int        `json:"attempt"` // attempt at that boot, from 1

	Accel          string     `json:"accel"` // as read back over QMP: "kvm" or "tcg"
	AccelRequested string     `json:"accel_requested"`
	AccelNote      string     `json:"accel_note"`
	QEMUVersion    string     `json:"qemu_version"`
	Machine        string     `json:"machine,omitempty"`  // QEMU's machine type, read back over QMP
	Firmware       string     `json:"firmware,omitempty"` // qboot, seabios (QEMU's own) or a ROM's path
	QEMUBinary     string     `json:"qemu_binary"`
	GuestCPU       string     `json:"guest_cpu"`
	SMP            int        `json:"smp"`
	MemoryMB       int        `json:"memory_mb"`
	HostCPU        string     `json:"host_cpu"`
	Jobs           int        `json:"jobs"`
	HostLoad       [3]float64 `json:"host_load"`
	Argv           []string   `json:"argv"`
	// Profiled says the counting plugin ran in profile mode: the boot's
	// counts are as good as any, its times are not (ReadBench sets them
	// aside).
	Profiled bool `json:"profiled,omitempty"`

	Started     time.Time `json:"started"`
	WallSeconds float64   `json:"wall_seconds"`
	BootSeconds float64   `json:"boot_seconds"` // QEMU start to the first result byte

	Status      Status   `json:"status"`
	Reason      string   `json:"reason"`
	ConsoleTail []string `json:"console_tail"`
	PanicLines  []string `json:"panic_lines"`
	Oops        []string `json:"oops"`
	Tainted     bool     `json:"tainted"`
	Results     int      `json:"results"` // benchmark lines in boot.bench
	BenchSHA256 string   `json:"bench_sha256"`

	// Dir is the committed attempt directory the record was read from, and
	// Host the run's host name (run.json). Neither is stored in boot.json;
	// both are empty for a record not read from a store.
	Dir  string `json:"-"`
	Host string `json:"-"`
}

// ReadJSON decodes the JSON file at path into v, read as every stored file
// is (stream.ReadStored).
func ReadJSON(path string, v any) error {
	data, err := stream.ReadStored(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decoding %s: %w", path, err)
	}
	return nil
}

// checkSchema refuses a record written by a newer kharness.
func checkSchema(path string, schema int) error {
	if schema > SchemaVersion {
		return fmt.Errorf("reading %s: schema %d is newer than this kharness understands (%d)", path, schema, SchemaVersion)
	}
	return nil
}
