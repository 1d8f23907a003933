package harness

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"kharness/harness/vm"
	"kharness/kernels"
)

// Config is a matrix file: kernels × boot configs × boots.
type Config struct {
	Boots    int    `toml:"boots"`     // boots per cell (the unit of replication)
	Retries  int    `toml:"retries"`   // extra attempts for a boot that fails
	Accel    string `toml:"accel"`     // auto, kvm or tcg
	CPU      string `toml:"cpu"`       // guest -cpu; per-accelerator default when empty
	MemoryMB int    `toml:"memory_mb"` // guest memory
	Timeout  string `toml:"timeout"`   // one boot's deadline, a Go duration
	Firmware string `toml:"firmware"`  // seabios (default), qboot or a ROM's path (ResolveFirmware)
	// Insns: exact instruction counts per operation under TCG (the
	// counting plugin): auto (under TCG when a C compiler can build the
	// plugin), on (an error where they cannot be made) or off.
	Insns string `toml:"insns"`

	Bench   BenchConfig    `toml:"bench"`
	Kernels []KernelConfig `toml:"kernel"`
	Configs []BootConfig   `toml:"config"`

	file    string
	src     []byte
	timeout time.Duration
	rom     string // the firmware's ROM for -bios, "" for QEMU's own (ResolveFirmware)
}

// BenchConfig selects the guest's benchmarks and their time budget.
type BenchConfig struct {
	Run       string `toml:"run"`       // regexp over benchmark names
	Benchtime string `toml:"benchtime"` // target time of one sample
	Count     int    `toml:"count"`     // samples per benchmark per boot
}

// KernelConfig names one kernel: a Debian package, a Debian family, or a
// local bzImage.
type KernelConfig struct {
	Name    string `toml:"name"`
	Package string `toml:"package"`
	Family  string `toml:"family"`
	Flavour string `toml:"flavour"`
	Path    string `toml:"path"`
	SHA256  string `toml:"sha256"`
	Suite   string `toml:"suite"` // a Debian suite (kernels.KnownSuites); empty: the system's apt lists, then every known suite
}

// TOML is the kernel's [[kernel]] table, with the keys that are set: the
// matrix files kharness writes for attribute and mitigations.
func (k KernelConfig) TOML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[[kernel]]\nname = %q\n", k.Name)
	for _, kv := range [][2]string{{"package", k.Package}, {"family", k.Family}, {"flavour", k.Flavour}, {"path", k.Path}, {"sha256", k.SHA256}, {"suite", k.Suite}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "%s = %q\n", kv[0], kv[1])
		}
	}
	return b.String()
}

// Source is the kernel's source for the kernels package.
func (k KernelConfig) Source() kernels.Source {
	return kernels.Source{Package: k.Package, Family: k.Family, Flavour: k.Flavour, Path: k.Path, SHA256: k.SHA256, Suite: k.Suite}
}

// BootConfig is one boot configuration: kernel arguments and vCPUs.
type BootConfig struct {
	Name    string `toml:"name"`
	Cmdline string `toml:"cmdline"`
	SMP     int    `toml:"smp"`
	// CPU, when set, is this config's guest -cpu (a model such as
	// "qemu64,vendor=GenuineIntel", "Haswell-noTSX" or "EPYC"), in place
	// of the run's cpu: the CPU model as an axis of the matrix, so one run
	// shows the entry each vendor gets. compare then compares boots of
	// different CPU models, because the config asked for them.
	CPU string `toml:"cpu"`
}

// ConfigError is a bad config file, with the line it is about (0 if none).
type ConfigError struct {
	File string
	Line int
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// LoadConfig reads a matrix file strictly: unknown keys, wrong types and bad
// values are errors naming the file and line.
func LoadConfig(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return ParseConfig(path, src)
}

// ParseConfig is LoadConfig on bytes already read; file names the source in
// errors.
func ParseConfig(file string, src []byte) (*Config, error) {
	c := &Config{Boots: 5, Retries: 2, Accel: "auto", Insns: "auto", MemoryMB: 512, Timeout: "120s", Firmware: "seabios",
		Bench: BenchConfig{Run: ".", Benchtime: "100ms", Count: 10}, file: file, src: src}
	dec := toml.NewDecoder(bytes.NewReader(src))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		var sm *toml.StrictMissingError
		var de *toml.DecodeError
		switch {
		case errors.As(err, &sm) && len(sm.Errors) > 0:
			e := sm.Errors[0]
			line, _ := e.Position()
			return nil, &ConfigError{file, line, fmt.Sprintf("unknown key %q", strings.Join(e.Key(), "."))}
		case errors.As(err, &de):
			line, _ := de.Position()
			msg := strings.TrimPrefix(de.Error(), "toml: ")
			if k := de.Key(); len(k) > 0 {
				msg = strings.Join(k, ".") + ": " + msg
			}
			return nil, &ConfigError{file, line, msg}
		}
		return nil, &ConfigError{File: file, Msg: err.Error()}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// maxCmdline is the longest kernel command line x86 Linux keeps
// (COMMAND_LINE_SIZE, 2048, less its terminating NUL).
const maxCmdline = 2047

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,39}$`)

// cpuRE is a QEMU -cpu value: a model and comma-separated options, with
// nothing QEMU's option parser or a shell would read otherwise.
var cpuRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.=+-]*(,[A-Za-z0-9_.=+-]+)*$`)

func (c *Config) validate() error {
	if err := c.validateTop(); err != nil {
		return err
	}
	if len(c.Kernels) == 0 {
		return &ConfigError{File: c.file, Msg: "no [[kernel]] entries"}
	}
	if len(c.Configs) == 0 {
		c.Configs = []BootConfig{{Name: "default"}}
	}
	seen := map[string]bool{}
	if err := c.validateKernels(seen); err != nil {
		return err
	}
	return c.validateConfigs(seen)
}

// bad is a ConfigError at key of the index'th [[table]] (the top level
// when table is "").
func (c *Config) bad(table string, index int, key, format string, args ...any) error {
	return &ConfigError{c.file, c.lineOf(table, index, key), fmt.Sprintf(format, args...)}
}

// validateTop checks the top-level keys and [bench].
func (c *Config) validateTop() error {
	bad := c.bad
	if c.CPU != "" && !cpuRE.MatchString(c.CPU) {
		return bad("", 0, "cpu", "cpu = %q: want a QEMU CPU model and options, such as \"qemu64,vendor=GenuineIntel\" or \"EPYC\"", c.CPU)
	}
	if err := CheckBoots(c.Boots); err != nil {
		return bad("", 0, "boots", "boots = %d: %v", c.Boots, err)
	}
	if c.Retries < 0 || c.Retries > 10 {
		return bad("", 0, "retries", "retries = %d: want 0..10", c.Retries)
	}
	switch c.Accel {
	case "auto", "kvm", "tcg":
	default:
		return bad("", 0, "accel", "accel = %q: want auto, kvm or tcg", c.Accel)
	}
	if !slices.Contains(vm.InsnsModes, c.Insns) {
		return bad("", 0, "insns", "insns = %q: want auto, on or off", c.Insns)
	}
	rom, err := vm.ResolveFirmware(c.Firmware)
	if err != nil {
		return bad("", 0, "firmware", "%v", err)
	}
	c.rom = rom
	if c.MemoryMB < 128 || c.MemoryMB > 65536 {
		return bad("", 0, "memory_mb", "memory_mb = %d: want 128..65536", c.MemoryMB)
	}
	d, err := time.ParseDuration(c.Timeout)
	if err != nil || d < 5*time.Second || d > 24*time.Hour {
		return bad("", 0, "timeout", "timeout = %q: want a duration from 5s to 24h such as \"120s\"", c.Timeout)
	}
	c.timeout = d
	if err := CheckBenchRun(c.Bench.Run); err != nil {
		return bad("bench", 0, "run", "bench.run = %q: %v", c.Bench.Run, err)
	}
	if err := CheckBenchtime(c.Bench.Benchtime); err != nil {
		return bad("bench", 0, "benchtime", "bench.benchtime = %q: %v", c.Bench.Benchtime, err)
	}
	if err := CheckCount(c.Bench.Count); err != nil {
		return bad("bench", 0, "count", "bench.count = %d: %v", c.Bench.Count, err)
	}
	return nil
}

// validateKernels checks the [[kernel]] tables; seen collects the names.
func (c *Config) validateKernels(seen map[string]bool) error {
	bad := c.bad
	for i, k := range c.Kernels {
		if !nameRE.MatchString(k.Name) || strings.Contains(k.Name, "--") {
			return bad("kernel", i, "name", "kernel name %q: want 1-40 of [A-Za-z0-9._+-], without \"--\" (it separates kernel and config in cell names)", k.Name)
		}
		if seen["k"+k.Name] {
			return bad("kernel", i, "name", "kernel name %q used twice", k.Name)
		}
		seen["k"+k.Name] = true
		if err := k.Source().Validate(); err != nil {
			return bad("kernel", i, "name", "kernel %q: %v", k.Name, err)
		}
	}
	return nil
}

// validateConfigs checks the [[config]] tables, and the kernel command
// line each gives; seen holds the kernels' names.
func (c *Config) validateConfigs(seen map[string]bool) error {
	bad := c.bad
	for i := range c.Configs {
		b := &c.Configs[i]
		if !nameRE.MatchString(b.Name) || strings.Contains(b.Name, "--") {
			return bad("config", i, "name", "config name %q: want 1-40 of [A-Za-z0-9._+-], without \"--\" (it separates kernel and config in cell names)", b.Name)
		}
		if seen["c"+b.Name] {
			return bad("config", i, "name", "config name %q used twice", b.Name)
		}
		seen["c"+b.Name] = true
		if b.SMP == 0 {
			b.SMP = 1
		}
		if b.CPU != "" && !cpuRE.MatchString(b.CPU) {
			return bad("config", i, "cpu", "config %q: cpu = %q: want a QEMU CPU model and options, such as \"qemu64,vendor=GenuineIntel\" or \"EPYC\"", b.Name, b.CPU)
		}
		if b.SMP < 1 || b.SMP > 64 {
			return bad("config", i, "smp", "config %q: smp = %d: want 1..64", b.Name, b.SMP)
		}
		if err := checkCmdlineChars(b.Cmdline); err != nil {
			return bad("config", i, "cmdline", "config %q: cmdline %v", b.Name, err)
		}
		// x86's kernel command line holds 2,047 bytes; a longer one is cut
		// and the guest's own parameters, which come last, are lost.
		if n := len(cmdline(c, *b, "")) + len(" kharness.insns=1 kharness.kallsyms=1"); n > maxCmdline {
			return bad("config", i, "cmdline", "config %q: the kernel command line would be %d bytes, more than the %d Linux takes", b.Name, n, maxCmdline)
		}
	}
	return nil
}

// lineOf finds the line of key in the index'th [[table]] (or the top level
// when table is ""), so value errors point where the user must look.
func (c *Config) lineOf(table string, index int, key string) int {
	cur, n := "", -1
	for i, line := range strings.Split(string(c.src), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "[["):
			cur = strings.TrimSpace(strings.Trim(t, "[]"))
			if cur == table {
				n++
			}
		case strings.HasPrefix(t, "["):
			cur = strings.TrimSpace(strings.Trim(t, "[]"))
			n = 0
		case cur == table && (table == "" || n == index):
			if k, _, ok := strings.Cut(t, "="); ok && strings.TrimSpace(k) == key {
				return i + 1
			}
		}
	}
	return 0
}

// BootTimeout is one boot's deadline.
func (c *Config) BootTimeout() time.Duration { return c.timeout }

// FirmwareROM is the ROM the config's firmware resolved to when it was
// read, "" for QEMU's own.
func (c *Config) FirmwareROM() string { return c.rom }

// MaxSMP is the largest vCPU count of any boot config.
func (c *Config) MaxSMP() int {
	m := 1
	for _, b := range c.Configs {
		m = max(m, b.SMP)
	}
	return m
}
