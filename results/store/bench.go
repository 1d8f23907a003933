package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

	"kharness/results/stream"
	"kharness/results/wire"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchunit"
)

// refUnit is the host reference's unit, the guest's "ref-ns/op" as
// benchfmt tidies it.
var refUnit = TidyUnit(wire.RefUnit)

// TidyUnit is unit as benchfmt's reader tidies it ("ref-ns/op" becomes
// "ref-sec/op").
func TidyUnit(unit string) string {
	_, u := benchunit.Tidy(1, unit)
	return u
}

// Line is one Benchmark line of a stored boot.bench.
type Line struct {
	Name   string
	Values []benchfmt.Value // without the host reference
	Ref    float64          // the host reference, sec an iteration; 0 if the line has none
}

// Bench is an ok boot's boot.bench as read back: its Benchmark lines in
// the order the guest printed them, warnings for lines that did not parse
// or pass the stream's checks (each skipped), and the text of each
// "failed-sample" comment (a sample with no number, and why) and of each
// "insns-none" one.
type Bench struct {
	Lines    []Line
	Warnings []string
	Failed   []string
	// InsnsSched is the boot's wire.InsnsSchedKey line: how its switching
	// benchmarks were counted; "" where the boot has none.
	InsnsSched string
	// InsnsClock is the boot's wire.InsnsClockKey line: the clocksource
	// its switching benchmarks were counted on; "" where the boot has none.
	InsnsClock string
	// NoCount holds the text of each "insns-none" comment: a counted
	// benchmark with no count, and why.
	NoCount []string
	// Profiled says the boot ran the profiling plugin: Lines hold its
	// exact counts only (see countsOnly).
	Profiled bool
}

// ReadBench reads ok boot b's boot.bench, checked against the sha256 its
// record holds.
func ReadBench(b *BootRecord) (*Bench, error) {
	path := filepath.Join(b.Dir, BenchFile)
	data, err := stream.ReadStored(path)
	if err != nil {
		return nil, fmt.Errorf("reading results of an ok boot: %w", err)
	}
	if b.BenchSHA256 != "" {
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, b.BenchSHA256) {
			return nil, fmt.Errorf("reading %s: sha256 %s does not match %s in %s", path, got, b.BenchSHA256, BootFile)
		}
	}
	out, err := ParseBench(data, path)
	if err == nil && b.Profiled {
		out.countsOnly()
	}
	return out, err
}

// countsOnly keeps only the exact counts of a profiled boot: the
// profiling plugin slows the guest ×1.3-1.5, so its timed samples, host
// reference and failed samples say nothing of the kernel's speed beside
// the cell's other boots.
func (b *Bench) countsOnly() {
	var lines []Line
	for _, l := range b.Lines {
		var vs []benchfmt.Value
		for _, v := range l.Values {
			if stream.ExactUnit(v.Unit) {
				vs = append(vs, v)
			}
		}
		if len(vs) > 0 {
			lines = append(lines, Line{Name: l.Name, Values: vs})
		}
	}
	b.Lines, b.Failed, b.Profiled = lines, nil, true
}

// ParseBench is ReadBench on data, the contents of the boot.bench at path
// (for messages).
func ParseBench(data []byte, path string) (*Bench, error) {
	var out Bench
	for l := range bytes.Lines(data) {
		if t, ok := bytes.CutPrefix(l, []byte("# "+wire.FailedSamplePrefix)); ok {
			out.Failed = append(out.Failed, string(bytes.TrimSpace(t)))
		}
		if t, ok := bytes.CutPrefix(l, []byte(wire.InsnsSchedKey+":")); ok {
			out.InsnsSched = string(bytes.TrimSpace(t))
		}
		if t, ok := bytes.CutPrefix(l, []byte(wire.InsnsClockKey+":")); ok {
			out.InsnsClock = string(bytes.TrimSpace(t))
		}
		if t, ok := bytes.CutPrefix(l, []byte("# "+wire.InsnsNonePrefix)); ok {
			out.NoCount = append(out.NoCount, string(bytes.TrimSpace(t)))
		}
	}
	r := benchfmt.NewReader(bytes.NewReader(data), path)
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			out.Warnings = append(out.Warnings, rec.Error())
		case *benchfmt.Result:
			if err := validStored(rec); err != nil {
				file, line := rec.Pos()
				out.Warnings = append(out.Warnings, fmt.Sprintf("%s:%d: %v (line skipped)", file, line, err))
				continue
			}
			l := Line{Name: rec.Name.String()}
			for _, v := range rec.Values {
				if v.Unit == refUnit {
					l.Ref = v.Value
					continue
				}
				l.Values = append(l.Values, v)
			}
			out.Lines = append(out.Lines, l)
		}
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var warns []string
	out.Lines, warns = checkCounts(out.Lines, path)
	out.Warnings = append(out.Warnings, warns...)
	return &out, nil
}

// checkCounts returns lines without the exact counts (stream.ExactUnit)
// of each benchmark whose counts cannot be one boot's, with a warning
// for each: the host writes one count of each exact unit per benchmark
// per boot, so a second one (an edited file) says that neither is the
// boot's; and a kernel share (KernelInsnsUnit) is part of its total
// (InsnsUnit), so one without its total or above it is no count. A line
// left with no values is dropped.
func checkCounts(lines []Line, path string) ([]Line, []string) {
	type counts struct {
		n             map[string]int
		total, kernel float64
	}
	by := map[string]*counts{}
	var names []string
	for _, l := range lines {
		for _, v := range l.Values {
			if !stream.ExactUnit(v.Unit) {
				continue
			}
			c := by[l.Name]
			if c == nil {
				c = &counts{n: map[string]int{}}
				by[l.Name] = c
				names = append(names, l.Name)
			}
			c.n[v.Unit]++
			if v.Unit == stream.InsnsUnit {
				c.total = v.Value
			} else {
				c.kernel = v.Value
			}
		}
	}
	bad := map[string]bool{}
	var warns []string
	for _, name := range names {
		c, why := by[name], ""
		switch nt, nk := c.n[stream.InsnsUnit], c.n[stream.KernelInsnsUnit]; {
		case nt > 1 || nk > 1:
			why = fmt.Sprintf("%d %s and %d %s counts (the host writes one count per benchmark per boot)", nt, stream.InsnsUnit, nk, stream.KernelInsnsUnit)
		case nk == 1 && nt == 0:
			why = fmt.Sprintf("a kernel share (%s) without its total (%s)", stream.KernelInsnsUnit, stream.InsnsUnit)
		case nk == 1 && c.kernel > c.total:
			why = fmt.Sprintf("a kernel share of %g %s above its total of %g %s", c.kernel, stream.KernelInsnsUnit, c.total, stream.InsnsUnit)
		default:
			continue
		}
		bad[name] = true
		warns = append(warns, fmt.Sprintf("%s: Benchmark%s: %s: its counts refused", path, name, why))
	}
	if len(bad) == 0 {
		return lines, nil
	}
	return withoutCounts(lines, bad), warns
}

// withoutCounts is lines without the exact counts of the benchmarks in
// bad, less any line left with no values.
func withoutCounts(lines []Line, bad map[string]bool) []Line {
	var out []Line
	for _, l := range lines {
		if bad[l.Name] {
			var vs []benchfmt.Value
			for _, v := range l.Values {
				if !stream.ExactUnit(v.Unit) {
					vs = append(vs, v)
				}
			}
			if len(vs) == 0 {
				continue
			}
			l.Values = vs
		}
		out = append(out, l)
	}
	return out
}

// validStored applies the stream's checks to a Benchmark line read back
// from a stored boot.bench: its name, units and values (ValidValue, on
// the value as written, before benchfmt's tidying).
func validStored(r *benchfmt.Result) error {
	if err := stream.ValidName(r.Name.String()); err != nil {
		return err
	}
	if r.Iters <= 0 {
		return fmt.Errorf("iteration count %d is not positive", r.Iters)
	}
	for _, v := range r.Values {
		val, unit := v.Value, v.Unit
		if v.OrigUnit != "" {
			val, unit = v.OrigValue, v.OrigUnit
		}
		if err := stream.ValidUnit(unit); err != nil {
			return err
		}
		if err := stream.ValidValue(val, unit); err != nil {
			return err
		}
	}
	return nil
}
