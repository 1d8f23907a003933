package show

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"kharness/internal/atomicfile"
	"kharness/results/stats"
	"kharness/results/store"
	"kharness/results/stream"
)

// A Finding is one called exact change, as a report a kernel developer
// reads the way they read the kernel test robot's mails: a subject naming
// the benchmark, the size and the kernels or configs, the functions that
// account for it, both sides' kernels and configs, the boots behind it,
// and the command that reproduces it.
type Finding struct {
	Benchmark string
	Unit      string // insns/op or kinsns/op
	Call      stats.Call
	// A is the base (the table's first column, the last good kernel, the
	// kernel before); B the side that changed.
	A, B  FindingSide
	Delta float64 // B's count less A's, instructions per operation
	// Why names the functions; nil where no profiled boot of a side was
	// found, and NoWhy then says why and how to get them.
	Why   *stats.Why
	NoWhy string
	// Reproduce holds the commands that give the finding again.
	Reproduce []string
}

// FindingSide is one side of a Finding.
type FindingSide struct {
	Kernel store.KernelInfo
	Config store.BootConfig
	Value  float64  // the count, instructions per operation (a median over Boots)
	Boots  []string // the directories of the boots behind Value
}

// Findings is one Finding for each called exact change of t, in the
// table's order: for each benchmark and pair of cells one, of kinsns/op
// where the kernel's count moved as much as the whole (no change in user
// space), else of insns/op. Its sides' kernels, configs and boots come
// from boots (the committed attempts of the table's runs); reproduce goes
// in each, with an attribute command where only the kernels differ.
func Findings(t *stats.Table, boots []*store.BootRecord, reproduce []string) []Finding {
	var out []Finding
	at := map[[3]string]int{} // benchmark, row, column: index in out
	for _, r := range t.Rows {
		if !stream.ExactUnit(r.Unit) {
			continue
		}
		for i, c := range r.Cells {
			if i == 0 || (c.Call != stats.CallRegression && c.Call != stats.CallImprovement) {
				continue
			}
			f := Finding{Benchmark: r.Benchmark, Unit: r.Unit, Call: c.Call, Delta: c.Delta, Why: c.Why, Reproduce: reproduce,
				A: findingSide(boots, r.Cells[0]), B: findingSide(boots, c)}
			if f.Why == nil {
				f.NoWhy = t.NoWhy
			}
			if f.A.Kernel.Label != f.B.Kernel.Label && f.A.Config.Cmdline == f.B.Config.Cmdline {
				f.Reproduce = append(slices.Clone(reproduce), AttributeCommand(&f))
			}
			key := [3]string{r.Benchmark, r.Key, t.Columns[i]}
			j, seen := at[key]
			switch {
			case !seen:
				at[key] = len(out)
				out = append(out, f)
			case r.Unit == stream.KernelInsnsUnit && out[j].Delta == f.Delta:
				out[j] = f
			}
		}
	}
	return out
}

// AttributeCommand is the command that names f's functions again: kharness
// attribute on both kernels, f's benchmark and command line.
func AttributeCommand(f *Finding) string {
	argv := []string{"kharness", "attribute", "-a", kernelArg(f.A.Kernel), "-b", kernelArg(f.B.Kernel), "-bench", "^" + regexp.QuoteMeta(f.Benchmark) + "$"}
	if f.A.Config.Cmdline != "" {
		argv = append(argv, "-cmdline", f.A.Config.Cmdline)
	}
	for i, a := range argv {
		if a == "" || strings.ContainsFunc(a, func(r rune) bool {
			return !(r == '-' || r == '_' || r == '.' || r == '/' || r == '+' || r == '=' || r == ',' || r == ':' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'))
		}) {
			argv[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return stream.Printable(strings.Join(argv, " "), 1000)
}

// kernelArg names kernel k for attribute's -a and -b: its package, else
// where it came from.
func kernelArg(k store.KernelInfo) string {
	return cmpOr(k.Package, cmpOr(k.Source, k.Label))
}

// findingSide is cell c's side: the kernel and config of its ok boots, and
// their directories.
func findingSide(boots []*store.BootRecord, c stats.Cell) FindingSide {
	s := FindingSide{Kernel: store.KernelInfo{Label: c.Kernel}, Config: store.BootConfig{Name: c.Config}, Value: c.Center}
	for _, b := range boots {
		if b.Status.OK() && b.Kernel.Label == c.Kernel && b.Config.Name == c.Config {
			if len(s.Boots) == 0 {
				s.Kernel, s.Config = b.Kernel, b.Config
			}
			s.Boots = append(s.Boots, b.Dir)
		}
	}
	return s
}

// shortVersion is a kernel's name in a subject: its package version
// before the Debian revision (7.1.3 of 7.1.3-1~bpo13+1), else its release,
// else its label.
func shortVersion(k store.KernelInfo) string {
	if v, _, _ := strings.Cut(k.Version, "-"); v != "" {
		return v
	}
	if k.Release != "" {
		return k.Release
	}
	return k.Label
}

// Subject is f's one-line summary: "NullSyscall/call=getppid: +39 kernel
// instructions (+13.4%) from 7.0.13 to 7.1.3, in prandom_u32_state".
func (f *Finding) Subject() string {
	what := "instructions"
	if f.Unit == stream.KernelInsnsUnit {
		what = "kernel instructions"
	}
	s := fmt.Sprintf("%s: %s %s", f.Benchmark, Signed(f.Delta), what)
	if f.A.Value > 0 {
		s += fmt.Sprintf(" (%+.1f%%)", (f.B.Value/f.A.Value-1)*100)
	}
	va, vb := shortVersion(f.A.Kernel), shortVersion(f.B.Kernel)
	switch {
	case f.A.Kernel.Label != f.B.Kernel.Label && f.A.Config.Name == f.B.Config.Name:
		s += fmt.Sprintf(" from %s to %s", va, vb)
	case f.A.Kernel.Label == f.B.Kernel.Label:
		s += fmt.Sprintf(" from %s to %s on %s", f.A.Config.Name, f.B.Config.Name, vb)
	default:
		s += fmt.Sprintf(" from %s %s to %s %s", va, f.A.Config.Name, vb, f.B.Config.Name)
	}
	if f.Why != nil {
		// The functions that move the count the way it moved, largest
		// first, until they account for all of it.
		var names []string
		acc := 0.0
		for _, fn := range f.Why.Funcs {
			if zeroCount(fn.Delta) || (fn.Delta > 0) != (f.Delta > 0) || math.Abs(acc) >= math.Abs(f.Delta)-0.005 {
				continue
			}
			names = append(names, fn.Name)
			acc += fn.Delta
		}
		switch {
		case len(names) == 1:
			s += ", in " + names[0]
		case len(names) == 2:
			s += ", in " + names[0] + " and " + names[1]
		case len(names) > 2:
			s += fmt.Sprintf(", in %s, %s and %d more", names[0], names[1], len(names)-2)
		}
	}
	return stream.Printable(s, 300)
}

// WriteFinding writes f as plain text.
func WriteFinding(w io.Writer, f *Finding) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Subject: %s\n\n", f.Subject())
	unitText := "guest instructions per operation (insns/op)"
	if f.Unit == stream.KernelInsnsUnit {
		unitText = "kernel instructions per operation (kinsns/op)"
	}
	fmt.Fprintf(&b, "kharness called an exact %s of %s: the %s,\ncounted under QEMU TCG by an instruction-counting plugin, which host load cannot move.\n\n",
		f.Call, stream.Printable(f.Benchmark, 200), unitText)
	na, nb := sideName(f, &f.A), sideName(f, &f.B)
	rows := [][4]string{{"", "count", "boots", ""}, {na + " (base)", Count(f.A.Value), fmt.Sprint(len(f.A.Boots)), ""},
		{nb, Count(f.B.Value), fmt.Sprint(len(f.B.Boots)), ""}}
	rows = append(rows, [4]string{"change", Signed(f.Delta), "", pct(f)})
	writeFindingRows(&b, rows)
	b.WriteString("\n")
	if f.Why != nil {
		fmt.Fprintf(&b, "The functions that account for it (instructions per operation, from one profiled boot a side;\nthe rows add up to the change):\n\n")
		rows := [][4]string{{"function", na, nb, "delta"}}
		for _, fn := range f.Why.Funcs {
			rows = append(rows, [4]string{stream.Printable(fn.Name, 120), Count(fn.A), Count(fn.B), Signed(fn.Delta)})
		}
		for _, p := range WhyParts(f.Why)[len(f.Why.Funcs):] {
			rows = append(rows, [4]string{p.Name, "", "", Signed(p.Delta)})
		}
		writeFindingRows(&b, rows)
	} else {
		fmt.Fprintf(&b, "No functions: %s\n", stream.Printable(f.NoWhy, 600))
	}
	b.WriteString("\n")
	for _, s := range []struct {
		role string
		side *FindingSide
	}{{"base", &f.A}, {"changed", &f.B}} {
		k := s.side.Kernel
		fmt.Fprintf(&b, "%-8s kernel %s (%s)\n", s.role+":", stream.Printable(cmpOr(k.Release, k.Label), 120), stream.Printable(strings.TrimSpace(k.Package+" "+k.Version+" "+k.Suite), 200))
		if k.SHA256 != "" {
			fmt.Fprintf(&b, "         bzImage sha256 %s\n", k.SHA256)
		}
		fmt.Fprintf(&b, "         config %s, kernel command line %q\n", stream.Printable(s.side.Config.Name, 80), stream.Printable(s.side.Config.Cmdline, 300))
	}
	b.WriteString("\nboots:\n")
	for _, s := range []struct {
		role string
		side *FindingSide
	}{{"base", &f.A}, {"changed", &f.B}} {
		for i, d := range s.side.Boots {
			role := ""
			if i == 0 {
				role = s.role
			}
			mark := ""
			if f.Why != nil && (d == f.Why.BootA || d == f.Why.BootB) {
				mark = " (profiled: the functions above)"
			}
			fmt.Fprintf(&b, "  %-8s %s%s\n", role, stream.Printable(d, 300), mark)
		}
	}
	b.WriteString("\nreproduce:\n")
	for _, c := range f.Reproduce {
		fmt.Fprintf(&b, "  %s\n", stream.Printable(c, 1000))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// sideName names a side in the tables: its config where only configs
// differ, else its kernel's short version.
func sideName(f *Finding, s *FindingSide) string {
	if f.A.Kernel.Label == f.B.Kernel.Label {
		return stream.Printable(s.Config.Name, 40)
	}
	return stream.Printable(shortVersion(s.Kernel), 40)
}

// pct is the change in percent of the base.
func pct(f *Finding) string {
	if f.A.Value <= 0 || math.IsNaN(f.B.Value) {
		return ""
	}
	return fmt.Sprintf("(%+.2f%%)", (f.B.Value/f.A.Value-1)*100)
}

// writeFindingRows writes rows as a table: the first column aligned left,
// the others right.
func writeFindingRows(b *strings.Builder, rows [][4]string) {
	var width [4]int
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	for _, r := range rows {
		fmt.Fprintf(b, "  %s\n", strings.TrimRight(fmt.Sprintf("%-*s  %*s  %*s  %*s", width[0], r[0], width[1], r[1], width[2], r[2], width[3], r[3]), " "))
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// FindingFile is the file name of f in a findings directory: its
// benchmark, unit and both sides, in the bytes a cell name may hold.
func FindingFile(f *Finding) string {
	n := fmt.Sprintf("%s_%s_%s-%s_to_%s-%s", f.Benchmark, strings.ReplaceAll(f.Unit, "/", "-"), f.A.Kernel.Label, f.A.Config.Name, f.B.Kernel.Label, f.B.Config.Name)
	b := []byte(n)
	for i, c := range b {
		if !store.NameByte(c) || c == '/' {
			b[i] = '_'
		}
	}
	return string(b[:min(len(b), 200)]) + ".txt"
}

// WriteFindings writes each finding to its own file in dir (created if
// need be; each file written whole or not at all) and returns the paths.
func WriteFindings(dir string, fs []Finding) ([]string, error) {
	if len(fs) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("writing findings: %w", err)
	}
	var paths []string
	for i := range fs {
		var b bytes.Buffer
		if err := WriteFinding(&b, &fs[i]); err != nil {
			return paths, err
		}
		p := filepath.Join(dir, FindingFile(&fs[i]))
		if err := atomicfile.Write(p, b.Bytes(), 0o644); err != nil {
			return paths, fmt.Errorf("writing finding %s: %w", p, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}
