//go:build linux

package guest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"kharness/results/wire"

	"golang.org/x/sys/unix"
)

// StreamVersion is the value of the first line, "kharness-stream: 1".
const StreamVersion = wire.Version

// MaxConfigValue is the longest configuration value written, in bytes.
const MaxConfigValue = 512

// ConfigPair is one "key: value" configuration line.
type ConfigPair struct {
	Key, Value string
}

// StreamWriter writes the result stream one line at a time, with no
// buffering, and keeps the count of Benchmark lines and the SHA-256 of every
// byte written so far for the end marker.
type StreamWriter struct {
	w     io.Writer
	tty   int // w's descriptor when w is a terminal (the results port), else -1
	sum   hash.Hash
	count int
	err   error
}

// NewStreamWriter returns a StreamWriter writing to w.
func NewStreamWriter(w io.Writer) *StreamWriter {
	s := &StreamWriter{w: w, tty: -1, sum: sha256.New()}
	if f, ok := w.(*os.File); ok {
		if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
			s.tty = int(f.Fd())
		}
	}
	return s
}

// line writes s plus "\n" in one Write; after the first error it does
// nothing and returns that error.
func (s *StreamWriter) line(text string) error {
	if s.err != nil {
		return s.err
	}
	b := make([]byte, 0, len(text)+1)
	b = append(b, text...)
	b = append(b, '\n')
	n, err := s.w.Write(b)
	s.sum.Write(b[:n])
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		s.err = fmt.Errorf("writing result stream: %w", err)
		return s.err
	}
	if s.tty >= 0 {
		// Wait until the serial port has sent the line (tcdrain): the
		// UART's transmit interrupts would otherwise land in the next
		// sample's, or the host reference's, timed stretch.
		if err := unix.IoctlSetInt(s.tty, unix.TCSBRK, 1); err != nil {
			s.err = fmt.Errorf("draining result stream: %w", err)
		}
	}
	return s.err
}

// Config writes "key: value", with value cleaned by SanitizeValue and
// trimmed of white space.
func (s *StreamWriter) Config(key, value string) error {
	return s.line(key + ": " + strings.TrimSpace(SanitizeValue(value)))
}

// Comment writes "# text" (text cleaned by SanitizeValue).
func (s *StreamWriter) Comment(text string) error {
	return s.line("# " + SanitizeValue(text))
}

// Value is one value-unit pair of a benchmark line.
type Value struct {
	V    float64
	Unit string
}

// Result writes one benchmark line, "Benchmark<name> <iters> <ns> ns/op".
func (s *StreamWriter) Result(name string, iters uint64, nsPerOp float64) error {
	return s.ResultValues(name, iters, []Value{{nsPerOp, "ns/op"}})
}

// ResultValues writes one benchmark line with several value-unit pairs,
// "Benchmark<name> <iters> <v1> <unit1> <v2> <unit2> ...". Negative values
// (an overhead subtraction larger than the sample) are written as 0.
func (s *StreamWriter) ResultValues(name string, iters uint64, vals []Value) error {
	line := "Benchmark" + name + " " + strconv.FormatUint(iters, 10)
	for _, v := range vals {
		line += " " + strconv.FormatFloat(max(v.V, 0), 'f', 2, 64) + " " + v.Unit
	}
	err := s.line(line)
	if err == nil {
		s.count++
	}
	return err
}

// Skip writes "# skip Benchmark<name>: reason".
func (s *StreamWriter) Skip(name, reason string) error {
	return s.Comment("skip Benchmark" + name + ": " + reason)
}

// Count returns the number of Benchmark lines written.
func (s *StreamWriter) Count() int { return s.count }

// End writes the end marker, "# kharness-end count=N sha256=HEX", where N is
// Count and HEX the SHA-256 of every byte written before the marker.
func (s *StreamWriter) End() error { return s.endWithCount(s.count) }

func (s *StreamWriter) endWithCount(n int) error {
	if s.err != nil {
		return s.err
	}
	return s.line(fmt.Sprintf("%s count=%d sha256=%s", wire.EndMarker, n, hex.EncodeToString(s.sum.Sum(nil))))
}

// SanitizeValue makes v safe for a configuration value or comment: bytes
// outside printable ASCII become '?', and it is cut to MaxConfigValue bytes.
func SanitizeValue(v string) string {
	if len(v) > MaxConfigValue {
		v = v[:MaxConfigValue]
	}
	b := []byte(v)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// SystemConfig returns the configuration lines that follow
// "kharness-stream: 1", read from the running kernel, for a run of suite
// with parameters p.
func SystemConfig(suite Suite, p Params) []ConfigPair {
	release := "unknown"
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		release = unix.ByteSliceToString(u.Release[:])
	}
	cmdline, clock := readTrimmed("/proc/cmdline"), readTrimmed(clocksourcePath)
	cfg := []ConfigPair{
		{"goos", runtime.GOOS},
		{"goarch", runtime.GOARCH},
		{"kernel-release", release},
		{"kernel-cmdline", cmdline},
		{"cpu-model", CPUInfo("model name")},
		{wire.CPUVendorKey, CPUInfo("vendor_id")},
		{"clocksource", clock},
		{"guest-ncpu", strconv.Itoa(runtime.NumCPU())},
		{"guest-benchtime", p.Benchtime.String()},
		{"guest-count", strconv.Itoa(p.Count)},
	}
	if p.Insns {
		cfg = append(cfg, ConfigPair{CountSchedKey, p.CountSched.Describe()},
			ConfigPair{wire.InsnsClockKey, ClockDescribe(clock, cmdline)})
	}
	if suite.Header != nil {
		cfg = append(cfg, suite.Header(suite.selected(p))...)
	}
	return append(cfg, vulnerabilities()...)
}

// VulnPrefix starts the config keys of the kernel's view of the CPU's
// vulnerabilities: "vuln-meltdown: Mitigation: PTI", one per file of
// /sys/devices/system/cpu/vulnerabilities, in name order. They say which
// mitigations this kernel runs on this CPU model (kharness mitigations
// builds its matrix from them).
const VulnPrefix = wire.VulnPrefix

func vulnerabilities() []ConfigPair {
	const dir = "/sys/devices/system/cpu/vulnerabilities"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []ConfigPair
	for _, e := range ents { // ReadDir sorts by name
		name := e.Name()
		if !validKey(name) {
			continue
		}
		out = append(out, ConfigPair{VulnPrefix + name, SanitizeValue(readTrimmed(filepath.Join(dir, name)))})
	}
	return out
}

// validKey reports whether name may follow VulnPrefix in a config key.
func validKey(name string) bool {
	if name == "" || len(name) > 40 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// readTrimmed returns the trimmed contents of a small file, or "unknown".
func readTrimmed(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// CPUInfo returns the first value of key in /proc/cpuinfo ("model name",
// "vendor_id"), or "unknown".
func CPUInfo(key string) string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// writeHeader writes the version line and cfg.
func writeHeader(s *StreamWriter, cfg []ConfigPair) error {
	if err := s.Config(wire.HeaderKey, StreamVersion); err != nil {
		return err
	}
	for _, c := range cfg {
		if err := s.Config(c.Key, c.Value); err != nil {
			return err
		}
	}
	return nil
}
