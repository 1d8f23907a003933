package stream

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"kharness/results/wire"
)

// Kernel profiles. In profile mode (kharness.kallsyms=1 on the guest's
// command line, profile=on for the counting plugin) a boot's plugin file
// has, before each stretch's S line, a P line for every kernel block the
// stretch ran, and its stream carries the kernel's text symbols in
// "kallsyms" comments. Profile names each block by its function and gives
// each counted benchmark's kernel instructions per operation by function,
// from the same stretches InsnsResults takes.

const (
	// KallsymsPrefix starts each comment that carries a piece of the
	// guest kernel's symbol table: the pieces, in order, are the base64
	// of a gzip of "<hex address> <name>\n" lines.
	KallsymsPrefix = wire.KallsymsPrefix
	// KallsymsNonePrefix starts the comment of a guest that could not
	// read its symbols, with the reason.
	KallsymsNonePrefix = wire.KallsymsNonePrefix
	// ProfileStreamLimit is the results stream limit of a profiled boot:
	// its symbol table takes about a megabyte.
	ProfileStreamLimit = DefaultStreamLimit

	// maxKallsyms caps the symbol table, decompressed.
	maxKallsyms = 64 << 20
	// maxFunctionSize is the farthest a block may lie past the symbol
	// below it and still be taken for part of it: no kernel function is a
	// MiB long, and a block past the last symbol (a module's, BPF's) is
	// not the last symbol's.
	maxFunctionSize = 1 << 20
)

// UnknownFunction names kernel blocks no symbol of the table covers.
const UnknownFunction = "[unknown]"

// BenchProfile is one counted benchmark's kernel instructions by function.
type BenchProfile struct {
	Name string
	// Ops is the operations the long stretch runs beyond the short one.
	Ops uint64
	// Kernel is the long stretch's kernel instructions less the short
	// one's: KernelInsnsUnit is Kernel/Ops.
	Kernel uint64
	// Funcs holds, per function, its instructions in the long stretch less
	// those in the short one; functions whose difference is zero are left
	// out. They add up to Kernel.
	Funcs map[string]int64
}

// KernelPerOp is the benchmark's kernel instructions per operation, the
// KernelInsnsUnit value of InsnsResults.
func (p *BenchProfile) KernelPerOp() float64 { return float64(p.Kernel) / float64(p.Ops) }

// PerOp is function f's kernel instructions per operation.
func (p *BenchProfile) PerOp(f string) float64 { return float64(p.Funcs[f]) / float64(p.Ops) }

// Profile returns one BenchProfile per counted benchmark of s that has a
// count (InsnsResults gives it a line), from raw, the plugin's output for
// the same boot in profile mode. For each it takes the first stretch of
// each length whose (total, kernel) count is the most common one (see
// phase.answer), names each of their blocks by the
// symbol at or below its address, and subtracts the short stretch's
// instructions per function from the long one's. An error names what is
// missing or does not fit: no symbols in the stream, a malformed P line
// (with its line), a stretch whose P lines do not add up to its kernel
// count, and whatever InsnsResults rejects.
func Profile(s *Stream, raw []byte) ([]BenchProfile, error) {
	phases, err := countPhases(s)
	if err != nil {
		return nil, err
	}
	syms, err := streamSymbols(s)
	if err != nil {
		return nil, err
	}
	r, err := parseInsnsRaw(raw, true)
	if err != nil {
		return nil, err
	}
	if err := checkPhases(phases, r); err != nil {
		return nil, err
	}
	groups, profs := r.groups, r.profs
	var out []BenchProfile
	for i, ph := range phases {
		g, ps := groups[i], profs[i]
		for j, st := range g {
			var sum uint64
			for _, b := range ps[j].blocks {
				sum += b.insns
			}
			if sum != st.kernel {
				return nil, fmt.Errorf("profile: %s line %d: the stretch's P lines add up to %d kernel instructions, its count is %d (no P lines: the plugin ran without profile=on; fewer: it ran out of block records)",
					InsnsFile, ps[j].line, sum, st.kernel)
			}
		}
		short, long, why, err := ph.answer(g)
		if err != nil {
			return nil, err
		}
		if why != "" {
			continue // no count, so no profile: the boot's insns-none comment says why
		}
		p := BenchProfile{Name: ph.name, Ops: ph.iters * ph.ops, Kernel: long.kernel - short.kernel, Funcs: map[string]int64{}}
		for _, c := range []struct {
			first int
			want  stretch
			sign  int64
		}{{0, short, -1}, {1, long, 1}} {
			j := c.first
			for g[j] != c.want {
				j += 2
			}
			for _, b := range ps[j].blocks {
				p.Funcs[syms.lookup(b.vaddr)] += c.sign * int64(b.insns)
			}
		}
		for f, n := range p.Funcs {
			if n == 0 {
				delete(p.Funcs, f)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// symbol is one text symbol of the guest kernel.
type symbol struct {
	addr uint64
	name string
}

// symtab is a kernel's text symbols, by address.
type symtab []symbol

// lookup names the function of the block at v: the symbol with the
// greatest address at or below v, or UnknownFunction when there is none
// within maxFunctionSize.
func (t symtab) lookup(v uint64) string {
	i := sort.Search(len(t), func(i int) bool { return t[i].addr > v }) - 1
	if i < 0 || v-t[i].addr >= maxFunctionSize {
		return UnknownFunction
	}
	return t[i].name
}

// printableWord reports whether s is a non-empty run of printable ASCII
// without spaces: a symbol name fit to print.
func printableWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return s != ""
}

// ErrNoSymbols means a stream has no kernel symbol table: the guest ran
// without kharness.kallsyms=1, or could not read it.
var ErrNoSymbols = errors.New("no kernel symbols in the results stream")

// streamSymbols decodes the symbol table of s's kallsyms comments.
func streamSymbols(s *Stream) (symtab, error) {
	var b64 strings.Builder
	for _, c := range s.Comments {
		if why, ok := strings.CutPrefix(c, KallsymsNonePrefix); ok {
			return nil, fmt.Errorf("profile: %w: the guest says %s", ErrNoSymbols, why)
		}
		if piece, ok := strings.CutPrefix(c, KallsymsPrefix); ok {
			b64.WriteString(piece)
		}
	}
	if b64.Len() == 0 {
		return nil, fmt.Errorf("profile: %w (the guest writes them with kharness.kallsyms=1)", ErrNoSymbols)
	}
	z, err := base64.StdEncoding.DecodeString(b64.String())
	if err != nil {
		return nil, fmt.Errorf("profile: the stream's kallsyms comments: %w", err)
	}
	return decodeKallsyms(z)
}

// decodeKallsyms reads a symbol table as the guest sends it: a gzip of
// "<hex address> <name>\n" lines. An error names the line that does not
// parse.
func decodeKallsyms(z []byte) (symtab, error) {
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, fmt.Errorf("profile: the stream's kallsyms comments: %w", err)
	}
	text, err := io.ReadAll(io.LimitReader(zr, maxKallsyms+1))
	if err != nil {
		return nil, fmt.Errorf("profile: the stream's kallsyms comments: %w", err)
	}
	if len(text) > maxKallsyms {
		return nil, fmt.Errorf("profile: the stream's symbol table is more than %d bytes", maxKallsyms)
	}
	var t symtab
	sc := bufio.NewScanner(bytes.NewReader(text))
	for line := 1; sc.Scan(); line++ {
		a, name, ok := strings.Cut(sc.Text(), " ")
		addr, err := strconv.ParseUint(a, 16, 64)
		if !ok || err != nil || addr == 0 || !printableWord(name) {
			return nil, fmt.Errorf("profile: symbol table line %d: %q is not \"<hex address> <name>\"", line, clipText(sc.Text()))
		}
		t = append(t, symbol{addr, name})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("profile: symbol table: %w", err)
	}
	if len(t) == 0 {
		return nil, fmt.Errorf("profile: %w: the table is empty", ErrNoSymbols)
	}
	// Of symbols at one address, the first the kernel listed names it.
	sort.SliceStable(t, func(i, j int) bool { return t[i].addr < t[j].addr })
	return slices.CompactFunc(t, func(a, b symbol) bool { return a.addr == b.addr }), nil
}
