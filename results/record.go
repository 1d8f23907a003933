package results

import (
	"encoding/json"
	"fmt"
	"kharness/results/stream"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	QEMUBinary     string     `json:"qemu_binary"`
	GuestCPU       string     `json:"guest_cpu"`
	SMP            int        `json:"smp"`
	MemoryMB       int        `json:"memory_mb"`
	HostCPU        string     `json:"host_cpu"`
	Jobs           int        `json:"jobs"`
	HostLoad       [3]float64 `json:"host_load"`
	Argv           []string   `json:"argv"`

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

// WriteFileAtomic writes data to path so that path holds either its old
// content or all of data, never a part: it writes a temporary file in the
// same directory, fsyncs it, renames it over path and fsyncs the directory.
// On error the temporary file is removed and path is left as it was.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("writing %s: %w", path, err)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// WriteJSONAtomic writes v as indented JSON to path with WriteFileAtomic,
// mode 0644.
func WriteJSONAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return WriteFileAtomic(path, append(data, '\n'), 0o644)
}

// readJSON decodes the JSON file at path into v.
func readJSON(path string, v any) error {
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

// syncDir fsyncs the directory dir, so that renames and creations in it
// survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// medians reads ok boot b's boot.bench and returns the median of each
// benchmark and unit over the samples g keeps, the keys in the order they
// first appear, and warnings for lines that did not parse.
func (g *HostGuard) medians(b *BootRecord) (map[benchKey]float64, []benchKey, []string, error) {
	return g.stats(b, Median)
}

// stats is medians with stat in place of the median.
func (g *HostGuard) stats(b *BootRecord, stat func([]float64) float64) (map[benchKey]float64, []benchKey, []string, error) {
	samples, order, warns, err := g.samples(b)
	if err != nil {
		return nil, nil, nil, err
	}
	meds := make(map[benchKey]float64, len(samples))
	for k, vs := range samples {
		meds[k] = stat(vs)
	}
	return meds, order, warns, nil
}

// samples returns every sample of an ok boot, per benchmark and unit in
// the order the guest printed them, the keys in order of first
// appearance, and the lines that did not parse. Samples that g sets aside
// are left out (see kept), and so is the reference itself.
func (g *HostGuard) samples(b *BootRecord) (map[benchKey][]float64, []benchKey, []string, error) {
	lines, keep, warns, err := g.guardedLines(b)
	if err != nil {
		return nil, nil, nil, err
	}
	samples := make(map[benchKey][]float64)
	var order []benchKey
	for i, l := range lines {
		if !keep[i] {
			continue
		}
		scale, err := g.scale(b, l)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, v := range l.Values {
			k := benchKey{l.Name, v.Unit}
			if _, ok := samples[k]; !ok {
				order = append(order, k)
			}
			x := v.Value
			if TimedUnit(v.Unit) {
				x *= scale
			}
			samples[k] = append(samples[k], x)
		}
	}
	return samples, order, warns, nil
}

// Median is the median of vs, NaN for none; vs is left as it was. The one
// median of the project: compare, the host guard, bisect and bisect-run
// all take theirs from here.
func Median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(vs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// A MismatchError says that boots to be compared ran under different
// setups: numbers from KVM and TCG, or from two QEMU versions or guest
// CPUs, do not compare.
type MismatchError struct {
	Diffs []Mismatch
}

// Mismatch is one field in which two ok boots differ.
type Mismatch struct {
	Field  string // "accel", "qemu_version" or "guest_cpu"
	Value1 string
	Boot1  string // the committed directory of the boot with Value1
	Value2 string
	Boot2  string
}

func (e *MismatchError) Error() string {
	var parts []string
	for _, d := range e.Diffs {
		parts = append(parts, fmt.Sprintf("%s %q (%s) vs %q (%s)", d.Field, d.Value1, d.Boot1, d.Value2, d.Boot2))
	}
	return "comparing runs: boots differ in " + strings.Join(parts, "; ") + "; force to compare anyway"
}

// checkSameSetup returns a *MismatchError if the ok boots differ in
// accelerator, QEMU version or guest CPU. Empty values are not compared.
func checkSameSetup(boots []*BootRecord) error {
	fields := []struct {
		name string
		get  func(*BootRecord) string
	}{
		{"accel", func(b *BootRecord) string { return b.Accel }},
		{"qemu_version", func(b *BootRecord) string { return b.QEMUVersion }},
		// A boot whose config chose its CPU model (an axis of the matrix)
		// is compared across models: the config asked for it.
		{"guest_cpu", func(b *BootRecord) string {
			if b.Config.CPU != "" {
				return ""
			}
			return b.GuestCPU
		}},
	}
	var e MismatchError
	for _, f := range fields {
		var first *BootRecord
		for _, b := range boots {
			if !b.Status.OK() || f.get(b) == "" {
				continue
			}
			if first == nil {
				first = b
			} else if f.get(b) != f.get(first) {
				e.Diffs = append(e.Diffs, Mismatch{f.name, f.get(first), first.Dir, f.get(b), b.Dir})
				break
			}
		}
	}
	if len(e.Diffs) > 0 {
		return &e
	}
	return nil
}
