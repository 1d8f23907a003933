//go:build linux

// Package guest is the benchmark program that runs inside the VM as u-root's
// uinit. It reads its parameters from the kernel command line, runs the
// benchmark suite, writes a Go benchmark-format stream closed by an end marker
// to the results port, and powers the VM off. The same code runs on the host
// (without touching the tty or powering anything off) for tests.
//
// It imports no other package of this module.
package guest

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Mode selects what the program does. Only ModeBench produces numbers; the
// others exist so host tests can cause real faults in a real VM.
type Mode string

// The modes. ModeHang, ModeFlood and ModeCrash only act with Options.Guest.
const (
	ModeBench    Mode = "bench"    // the normal stream
	ModeProbe    Mode = "probe"    // config lines and an end marker with count=0
	ModeHang     Mode = "hang"     // write nothing, block forever, never power off
	ModeTruncate Mode = "truncate" // config lines, one benchmark line, no end marker
	ModeMiscount Mode = "miscount" // end marker count one higher than the Benchmark lines
	ModeGarble   Mode = "garble"   // valid stream, then 4 KiB of random bytes
	ModeFlood    Mode = "flood"    // flood the console forever, never power off
	ModeCrash    Mode = "crash"    // panic the kernel through /proc/sysrq-trigger
	ModeShell    Mode = "shell"    // an interactive shell on the console; power off when it exits
)

// Modes lists every known mode.
var Modes = []Mode{ModeBench, ModeProbe, ModeHang, ModeTruncate, ModeMiscount, ModeGarble, ModeFlood, ModeCrash, ModeShell}

// streamModes are the modes that write a stream WriteStream can produce.
var streamModes = map[Mode]bool{ModeBench: true, ModeProbe: true, ModeTruncate: true, ModeMiscount: true, ModeGarble: true}

// HasStream reports whether m is a mode whose whole effect is the stream
// written by WriteStream (and so is safe to run on the host).
func (m Mode) HasStream() bool { return streamModes[m] }

// Known reports whether m is one of Modes.
func (m Mode) Known() bool {
	for _, k := range Modes {
		if m == k {
			return true
		}
	}
	return false
}

// Params are the run parameters: kharness.run=, kharness.benchtime=,
// kharness.count= and kharness.mode= on the kernel command line, or the
// -run, -benchtime, -count and -mode flags on the host.
type Params struct {
	Run       string        // regexp matched against "Benchmark"+name
	Benchtime time.Duration // target duration of one sample
	Count     int           // samples per benchmark
	Mode      Mode
	// Fidelity runs the fidelity check after the suite: the core cases in
	// Go and in the C reference Kref, alternating, as ".../impl=go" and
	// ".../impl=c" lines (kharness.fidelity=1).
	Fidelity bool
	// Kref is the path of the C reference program.
	Kref string
	// Insns runs each benchmark's count phase for kharness's
	// instruction-counting plugin after its samples (kharness.insns=1).
	Insns bool
	// Kallsyms writes the kernel's text symbols to the stream after the
	// benchmarks, for the host to name the kernel blocks the counting
	// plugin profiled (kharness.kallsyms=1; see writeKallsyms).
	Kallsyms bool
	// CountSched is the scheduling policy of the count phase of the
	// benchmarks that switch to peer tasks (kharness.countsched=; see
	// CountSched). The timed samples always run under the default policy.
	CountSched CountSched
}

// KrefPath is where the image holds the C reference of the fidelity check.
const KrefPath = "/bin/kref"

// DefaultParams returns the defaults: run ".", benchtime 100ms, count 10,
// mode bench, count phases of switching benchmarks under DefaultCountSched.
func DefaultParams() Params {
	return Params{Run: ".", Benchtime: 100 * time.Millisecond, Count: 10, Mode: ModeBench, Kref: KrefPath, CountSched: DefaultCountSched}
}

// Validate checks p and returns an error naming the bad parameter.
func (p Params) Validate() error {
	if _, err := regexp.Compile(p.Run); err != nil {
		return fmt.Errorf("kharness.run=%q: %v", p.Run, err)
	}
	if p.Benchtime <= 0 {
		return fmt.Errorf("kharness.benchtime=%v: must be positive", p.Benchtime)
	}
	if p.Count < 1 {
		return fmt.Errorf("kharness.count=%d: must be at least 1", p.Count)
	}
	if !p.Mode.Known() {
		return fmt.Errorf("kharness.mode=%q: unknown mode (want one of %v)", string(p.Mode), Modes)
	}
	if p.CountSched != "" && !p.CountSched.Known() {
		return fmt.Errorf("kharness.countsched=%q: unknown policy (want one of %v)", string(p.CountSched), CountScheds)
	}
	return nil
}

// CmdlinePrefix is the prefix of the kernel command-line words the guest reads.
const CmdlinePrefix = "kharness."

// ParseCmdline applies the kharness.* words of a kernel command line (the
// contents of /proc/cmdline) to base and validates the result. Other words,
// and kharness.* words it does not know, are ignored; their names are
// returned in ignored so the caller can log them. Every word is applied
// before anything is judged, so p holds every good value even when err is
// set (init reads the mode from it whatever else is wrong); err names each
// bad parameter.
func ParseCmdline(cmdline string, base Params) (p Params, ignored []string, err error) {
	p = base
	var errs []error
	for _, word := range splitCmdline(cmdline) {
		key, val, _ := strings.Cut(word, "=")
		name, ok := strings.CutPrefix(key, CmdlinePrefix)
		if !ok {
			continue
		}
		known, err := p.apply(name, val)
		if !known {
			ignored = append(ignored, key)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		errs = append(errs, p.Validate())
	}
	return p, ignored, errors.Join(errs...)
}

// apply sets the field of one kharness.NAME=VAL word, whether name is
// known, and an error naming the parameter for a value that does not parse
// (the field then keeps what it held).
func (p *Params) apply(name, val string) (known bool, err error) {
	flag := func(set *bool) error {
		b, err := strconv.ParseBool(val)
		if err != nil {
			return fmt.Errorf("kharness.%s=%q: want 0 or 1", name, val)
		}
		*set = b
		return nil
	}
	switch name {
	case "run":
		p.Run = val
	case "benchtime":
		d, err := time.ParseDuration(val)
		if err != nil {
			return true, fmt.Errorf("kharness.benchtime=%q: %v", val, err)
		}
		p.Benchtime = d
	case "count":
		n, err := strconv.Atoi(val)
		if err != nil {
			return true, fmt.Errorf("kharness.count=%q: not an integer", val)
		}
		p.Count = n
	case "mode":
		p.Mode = Mode(val)
	case "countsched":
		p.CountSched = CountSched(val)
	case "fidelity":
		return true, flag(&p.Fidelity)
	case "insns":
		return true, flag(&p.Insns)
	case "kallsyms":
		return true, flag(&p.Kallsyms)
	default:
		return false, nil
	}
	return true, nil
}

// Args returns the kernel command-line words that hand p to the guest,
// the words ParseCmdline reads back: one for each field that is set (a
// zero field leaves the guest's default), a value holding white space in
// double quotes. Kref is the image's, not the command line's. The host
// builds every kharness.* word through here.
func (p Params) Args() []string {
	var args []string
	add := func(name, val string) {
		if strings.ContainsAny(val, " \t") {
			val = `"` + val + `"`
		}
		args = append(args, CmdlinePrefix+name+"="+val)
	}
	if p.Run != "" {
		add("run", p.Run)
	}
	if p.Benchtime > 0 {
		add("benchtime", p.Benchtime.String())
	}
	if p.Count > 0 {
		add("count", strconv.Itoa(p.Count))
	}
	if p.Mode != "" {
		add("mode", string(p.Mode))
	}
	if p.CountSched != "" {
		add("countsched", string(p.CountSched))
	}
	for _, f := range []struct {
		name string
		on   bool
	}{{"fidelity", p.Fidelity}, {"insns", p.Insns}, {"kallsyms", p.Kallsyms}} {
		if f.on {
			add(f.name, "1")
		}
	}
	return args
}

// splitCmdline splits a kernel command line into words the way the kernel
// does: on white space outside double quotes, with the quotes removed.
func splitCmdline(s string) []string {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			quoted = !quoted
			inWord = true
		case !quoted && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}
