package stream

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"kharness/results/wire"
)

// Exact instruction counts. Under TCG, kharness's counting plugin
// (harness/vm/tcgplugin) writes one line per counted stretch of a boot to the
// boot's InsnsFile; the guest writes an "insns" comment per benchmark
// saying what it counted. InsnsResults pairs the two into Benchmark lines
// whose units are InsnsUnit and KernelInsnsUnit: a property of the kernel,
// its config and the guest program, which no host load moves.

const (
	// InsnsFile is the counting plugin's output in a boot's directory.
	InsnsFile = "insns.raw"
	// InsnsUnit is guest instructions per operation.
	InsnsUnit = "insns/op"
	// KernelInsnsUnit is the part of InsnsUnit at kernel addresses.
	KernelInsnsUnit = "kinsns/op"
	// InsnsMethodKey is the boot.bench key that says how counts were made.
	InsnsMethodKey = "insns-method"
	// InsnsMethod is the value of InsnsMethodKey: how InsnsResults counts.
	InsnsMethod = "tcg-plugin insncount/2: inline count per translated block, stretches paired with benchmarks by a tag of the name; per op, the most common count of the long stretches minus the most common of the short ones, where that is the most common difference within a pair (else an insns-none comment says why there is no count)"
)

// ExactUnit reports whether unit is an exact count rather than a
// measurement: compare calls it by the boots' spread, not by a rank test.
func ExactUnit(unit string) bool { return unit == InsnsUnit || unit == KernelInsnsUnit }

// insnsCommentRE is the guest's comment for one benchmark's count phase.
var insnsCommentRE = regexp.MustCompile(`^insns Benchmark(\S+) iters=([1-9][0-9]{0,9}) ops-per-iter=([1-9][0-9]{0,3}) reps=([1-9][0-9]{0,3})(?: clock=([!-~]{1,40}))?$`)

// maxInsnsLines caps the plugin file. A counted boot's file has two lines
// a stretch (a few thousand); a profiled boot's has a line per function
// that ran in each stretch besides: 1.1 million lines (22 MB) for the 21
// switching benchmarks of configs/switches.toml, 100 pairs of stretches
// each. The cap leaves room for every benchmark of the suite profiled.
const maxInsnsLines = 1 << 24

// stretch is one counted stretch: all instructions, and those in the kernel.
type stretch struct{ total, kernel uint64 }

// InsnsFromFile is InsnsResults on the plugin's output file at path, read
// as every stored file is (ReadInsnsFile: a regular file of bounded size).
func InsnsFromFile(s *Stream, path string) ([]Result, []NoCount, error) {
	raw, err := ReadInsnsFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("instruction counts: %w", err)
	}
	return InsnsResults(s, raw)
}

// InsnsResults returns one Benchmark line per counted benchmark of s whose
// stretches give one answer, from raw, the plugin's output for the same
// boot: iterations the shorter stretch's, values InsnsUnit and
// KernelInsnsUnit. Each is the difference between the most common count of
// the long stretches and that of the short ones, divided by the
// operations between them: the difference cancels what surrounds the loop.
// A benchmark whose stretches give no one answer (see phase.answer) has no
// line but a NoCount that says why. An error names what does not fit: a
// count phase with no counts, counts with no count phase, a stretch whose
// kernel part exceeds its whole, a long stretch shorter than a short one.
func InsnsResults(s *Stream, raw []byte) ([]Result, []NoCount, error) {
	phases, err := countPhases(s)
	if err != nil {
		return nil, nil, err
	}
	r, err := parseInsnsRaw(raw, false)
	if err != nil {
		return nil, nil, err
	}
	if err := checkPhases(phases, r); err != nil {
		return nil, nil, err
	}
	var out []Result
	var none []NoCount
	var start string
	for _, kv := range s.Config {
		if kv.Key == "clocksource" {
			start = kv.Value
		}
	}
	for i, ph := range phases {
		short, long, why, err := ph.answer(r.groups[i])
		if err != nil {
			return nil, nil, err
		}
		if why == "" {
			why = clockChanged(start, ph.clock)
		}
		if why != "" {
			none = append(none, NoCount{ph.name, why})
			continue
		}
		ops := float64(ph.iters * ph.ops)
		out = append(out, Result{Name: ph.name, Iters: int(ph.iters * ph.ops), Values: []Value{
			{float64(long.total-short.total) / ops, InsnsUnit},
			{float64(long.kernel-short.kernel) / ops, KernelInsnsUnit},
		}})
	}
	return out, none, nil
}

// clockChanged says why a switching benchmark's count is not kept when
// the kernel's clocksource at the end of its count phase (clock) is not
// the one the guest started on (start): the clocksource watchdog marked
// the TSC unstable, and from then on sched_clock takes its unstable path
// in every switch (+264 kernel instructions a pipe round trip on 7.1 and
// 7.3, +392 on 6.1): the boot's later switches count another path. ""
// where the clock stayed, or either is unknown.
func clockChanged(start, clock string) string {
	if clock == "" || start == "" || start == "unknown" || clock == start {
		return ""
	}
	return fmt.Sprintf("the clocksource was %s at the end of the count phase, %s when the guest started: the kernel marked the TSC unstable, and switches then take another path (sched_clock's unstable one); not kept (tsc=reliable, which kharness adds to counted boots, turns that watchdog off)", clipText(clock), clipText(start))
}

// phase is a benchmark's count phase as the guest's "insns" comment
// describes it.
type phase struct {
	name             string
	iters, ops, reps uint64
	clock            string // the clocksource as the phase ended; "" where not sent
}

// countPhases reads the "insns" comments of s, in order.
func countPhases(s *Stream) ([]phase, error) {
	var phases []phase
	seen := map[string]bool{}
	for _, c := range s.Comments {
		if !strings.HasPrefix(c, wire.InsnsCommentPrefix) {
			continue
		}
		m := insnsCommentRE.FindStringSubmatch(c)
		if m == nil {
			return nil, fmt.Errorf("instruction counts: malformed comment %q", clipText(c))
		}
		if err := ValidName(m[1]); err != nil {
			return nil, fmt.Errorf("instruction counts: %v", err)
		}
		if seen[m[1]] {
			return nil, fmt.Errorf("instruction counts: Benchmark%s: a second count phase (one count per benchmark per boot)", m[1])
		}
		seen[m[1]] = true
		var n [3]uint64
		for i := range n {
			n[i], _ = strconv.ParseUint(m[2+i], 10, 64) // the pattern bounds them
		}
		phases = append(phases, phase{m[1], n[0], n[1], n[2], m[5]})
	}
	return phases, nil
}

// checkPhases checks that the plugin counted the benchmarks the guest says
// it ran, in the same order (each group's tag is its comment's
// benchmark's, InsnsTag), each with its stretches.
func checkPhases(phases []phase, r *insnsRaw) error {
	if len(r.groups) != len(phases) {
		return fmt.Errorf("instruction counts: the plugin saw %d counted benchmarks, the guest says it ran %d", len(r.groups), len(phases))
	}
	for i, ph := range phases {
		if want := wire.InsnsTag(ph.name); r.tags[i] != want {
			return fmt.Errorf("instruction counts: counted benchmark %d: the plugin's stretches are tagged %s, the guest's comment says Benchmark%s (tag %s): the counts and the benchmarks are out of step",
				i+1, r.tags[i], ph.name, want)
		}
		if g := r.groups[i]; uint64(len(g)) != 2*ph.reps {
			return fmt.Errorf("instruction counts: %s: %d stretches counted, want %d", ph.name, len(g), 2*ph.reps)
		}
	}
	return nil
}

// block is one P line of the plugin's profile mode: a kernel block's
// address and the instructions it ran in one stretch.
type block struct{ vaddr, insns uint64 }

// stretchProfile is the P lines of one stretch, and the line of its S.
type stretchProfile struct {
	blocks []block
	line   int
}

// insnsHeader is the plugin file's first line: version 2 tags each
// benchmark's "B" line.
const insnsHeader = "insncount 2"

// insnsRaw is the plugin's output, parsed: for each counted benchmark, in
// order, the tag the guest sent before it, its stretches, and in profile
// mode their P lines.
type insnsRaw struct {
	tags   []string
	groups [][]stretch
	profs  [][]stretchProfile
}

// parseInsnsRaw reads the plugin's output: a header line "insncount 2",
// then "B TAG" opening each benchmark (TAG: the guest's InsnsTag for it)
// and "S total kernel" for each stretch, each S preceded in profile mode
// by its "P vaddr insns" lines. With profile, it also keeps each
// stretch's P lines, grouped as the stretches are; without, P lines are
// checked and dropped.
func parseInsnsRaw(raw []byte, profile bool) (*insnsRaw, error) {
	p := &rawParser{profile: profile, r: &insnsRaw{}}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		p.line++
		if p.line > maxInsnsLines {
			return nil, p.bad("more than %d lines", maxInsnsLines)
		}
		if err := p.parse(sc.Text()); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("instruction counts: reading %s: %w", InsnsFile, err)
	}
	if p.line == 0 {
		return nil, fmt.Errorf("instruction counts: %s is empty: the plugin did not start", InsnsFile)
	}
	if p.pendingP != 0 {
		return nil, fmt.Errorf("instruction counts: %s line %d: profile lines at the end of the file without their stretch's S line", InsnsFile, p.pendingP)
	}
	return p.r, nil
}

// rawParser is parseInsnsRaw's state.
type rawParser struct {
	profile  bool
	r        *insnsRaw
	line     int
	pending  []block // P lines waiting for their S
	pendingP int     // the first of them, 0 if none
}

func (p *rawParser) bad(format string, args ...any) error {
	return fmt.Errorf("instruction counts: %s line %d: %s", InsnsFile, p.line, fmt.Sprintf(format, args...))
}

// parse reads one line, text.
func (p *rawParser) parse(text string) error {
	f := strings.Fields(text)
	if p.pendingP != 0 && !(len(f) > 0 && (f[0] == "P" || f[0] == "S")) {
		return p.bad("profile lines from line %d are not followed by their stretch's S line", p.pendingP)
	}
	switch {
	case p.line == 1:
		if strings.Join(f, " ") == "insncount 1" {
			return p.bad("written by an older counting plugin (insncount 1), whose benchmarks carry no tag")
		}
		if strings.Join(f, " ") != insnsHeader {
			return p.bad("not the counting plugin's output (want %q)", insnsHeader)
		}
	case len(f) >= 1 && f[0] == "B":
		if len(f) != 2 || !validTag(f[1]) {
			return p.bad("a benchmark without its tag (want \"B\" and %d lower-case hex digits): %q", wire.InsnsTagDigits, clipText(text))
		}
		p.r.tags = append(p.r.tags, f[1])
		p.r.groups = append(p.r.groups, nil)
		p.r.profs = append(p.r.profs, nil)
	case len(f) == 3 && f[0] == "P":
		return p.profileLine(f, text)
	case len(f) == 3 && f[0] == "S":
		return p.stretchLine(f, text)
	case len(f) == 1 && f[0] == "F":
		return p.bad("the plugin stopped at its line limit: the guest ran far more markers than its count phases")
	case len(f) == 1 && f[0] == "E":
		return p.bad("an end marker without a start: the guest's markers are out of step")
	default:
		return p.bad("unrecognised %q", clipText(text))
	}
	return nil
}

// validTag reports whether s is an InsnsTag.
func validTag(s string) bool {
	if len(s) != wire.InsnsTagDigits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isASCIIDigit(s[i]) && (s[i] < 'a' || s[i] > 'f') {
			return false
		}
	}
	return true
}

// profileLine reads "P vaddr insns", fields f of text.
func (p *rawParser) profileLine(f []string, text string) error {
	if len(p.r.groups) == 0 {
		return p.bad("a profile line before any benchmark")
	}
	v, err1 := strconv.ParseUint(f[1], 16, 64)
	n, err2 := strconv.ParseUint(f[2], 10, 64)
	if err1 != nil || err2 != nil || n == 0 {
		return p.bad("bad profile line %q (want \"P <hex address> <instructions>\")", clipText(text))
	}
	if p.pendingP == 0 {
		p.pendingP = p.line
	}
	if p.profile {
		p.pending = append(p.pending, block{v, n})
	}
	return nil
}

// stretchLine reads "S total kernel", fields f of text.
func (p *rawParser) stretchLine(f []string, text string) error {
	if len(p.r.groups) == 0 {
		return p.bad("a counted stretch before any benchmark")
	}
	t, err1 := strconv.ParseUint(f[1], 10, 64)
	k, err2 := strconv.ParseUint(f[2], 10, 64)
	if err1 != nil || err2 != nil || k > t {
		return p.bad("bad stretch %q", clipText(text))
	}
	g := len(p.r.groups) - 1
	p.r.groups[g] = append(p.r.groups[g], stretch{t, k})
	if p.profile {
		p.r.profs[g] = append(p.r.profs[g], stretchProfile{p.pending, p.line})
	}
	p.pending, p.pendingP = nil, 0
	return nil
}
