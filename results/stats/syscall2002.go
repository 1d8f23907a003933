package stats

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"kharness/results/store"
	"kharness/results/stream"
	"kharness/results/wire"

	"golang.org/x/perf/benchmath"
)

// The December 2002 table: per kernel and CPU vendor (a boot config that
// chose its guest CPU model), the null system call from a 32-bit process
// through INT $0x80 and through the vDSO's __kernel_vsyscall, which the
// boot patched to SYSENTER or SYSCALL; the ratio of the two, called over
// boots; the exact instructions of each; beside Linus Torvalds's Pentium 4
// numbers of 2002.

// Benchmarks the table reads (guest/bench/entry32.go).
const (
	Int80Bench32    = "NullSyscall32/call=getppid/entry=int80"
	VsyscallBench32 = "NullSyscall32/call=getppid/entry=vsyscall"
	Syscall64Bench  = "NullSyscall/call=getppid"
)

// Syscall2002Row is one kernel and boot config of the table.
type Syscall2002Row struct {
	Kernel, Config string
	Vendor         string  // the guest's CPU vendor (cpu-vendor)
	Vsyscall       string  // what __kernel_vsyscall executed (vsyscall32): sysenter, syscall or int80
	Boots          int     // ok boots with both entries' times (the host guard kept)
	CountedBoots   int     // ok boots with both entries' exact counts
	Int80NS        float64 // median over boots, ns a call
	FastNS         float64 // through __kernel_vsyscall
	Syscall64NS    float64 // the 64-bit SYSCALL, for reference; 0 if not run
	Ratio          float64 // Int80NS / FastNS
	P              float64 // Mann-Whitney U over per-boot times, INT $0x80 against the fast entry
	Call           string  // "int80 slower", "int80 faster" or "~"
	Int80Insns     float64 // exact instructions a call (insns/op); 0 without counts
	FastInsns      float64
}

// Syscall2002 reads the runs dirs into the table: one row per cell that
// ran both 32-bit entries.
func Syscall2002(alpha float64, dirs ...string) ([]Syscall2002Row, error) {
	boots, err := store.LoadBoots(dirs...)
	if err != nil {
		return nil, err
	}
	g := Guard(boots, DefaultSlowFactor)
	var order [][2]string
	cells := map[[2]string]*s2002Cell{}
	for _, b := range boots {
		if !b.Status.OK() {
			continue
		}
		m, _, _, err := g.Medians(b)
		if err != nil {
			return nil, err
		}
		i80, ok1 := nsPerOp(m, Int80Bench32)
		fast, ok2 := nsPerOp(m, VsyscallBench32)
		i80i, ok3 := m[Key{Int80Bench32, stream.InsnsUnit}]
		fi, ok4 := m[Key{VsyscallBench32, stream.InsnsUnit}]
		if !(ok1 && ok2) && !(ok3 && ok4) {
			continue // neither entry ran, or the host guard set the times aside and nothing was counted
		}
		k := [2]string{b.Kernel.Label, b.Config.Name}
		c := cells[k]
		if c == nil {
			c = &s2002Cell{row: Syscall2002Row{Kernel: k[0], Config: k[1]}}
			cells[k] = c
			order = append(order, k)
		}
		cfg := StreamConfig(b)
		if v := cfg[wire.CPUVendorKey]; v != "" {
			c.vendors = AppendNew(c.vendors, v)
		}
		if v := cfg[wire.Vsyscall32Key]; v != "" {
			c.vsyscalls = AppendNew(c.vsyscalls, v)
		}
		// Times from the boots the host guard kept; exact counts, which
		// no host moves, from every ok boot.
		if ok1 && ok2 {
			c.int80, c.fast = append(c.int80, i80), append(c.fast, fast)
			if v, ok := nsPerOp(m, Syscall64Bench); ok {
				c.s64 = append(c.s64, v)
			}
		}
		if ok3 && ok4 {
			c.i80i, c.fi = append(c.i80i, i80i), append(c.fi, fi)
		}
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("no ok boot in %s has both Benchmark%s and Benchmark%s (run configs/syscall2002.toml)", strings.Join(dirs, " "), Int80Bench32, VsyscallBench32)
	}
	var rows []Syscall2002Row
	for _, k := range order {
		rows = append(rows, cells[k].summary(alpha))
	}
	return rows, nil
}

// s2002Cell is what one cell's boots gave the 2002 table: per boot, the
// two 32-bit entries' times (and the 64-bit syscall's) where the host
// guard kept them, and their exact counts.
type s2002Cell struct {
	row                        Syscall2002Row
	int80, fast, s64, i80i, fi []float64
	vendors, vsyscalls         []string
}

// summary is the cell's row: medians over boots, and INT $0x80 against
// the fast entry called at alpha.
func (c *s2002Cell) summary(alpha float64) Syscall2002Row {
	r := c.row
	r.Vendor, r.Vsyscall = strings.Join(c.vendors, ","), strings.Join(c.vsyscalls, ",")
	r.Boots, r.CountedBoots = len(c.int80), len(c.i80i)
	r.Int80NS, r.FastNS = Median(c.int80), Median(c.fast)
	r.Ratio = r.Int80NS / r.FastNS
	if len(c.s64) > 0 {
		r.Syscall64NS = Median(c.s64)
	}
	if len(c.i80i) > 0 && len(c.fi) > 0 {
		r.Int80Insns, r.FastInsns = Median(c.i80i), Median(c.fi)
	}
	r.P, r.Call = math.NaN(), "-"
	if len(c.int80) > 0 {
		th := &benchmath.Thresholds{CompareAlpha: alpha}
		r.P = min(1, benchmath.AssumeNothing.Compare(benchmath.NewSample(c.fast, th), benchmath.NewSample(c.int80, th)).P)
		r.Call = "~"
	}
	if r.P < alpha {
		r.Call = "int80 slower"
		if r.Ratio < 1 {
			r.Call = "int80 faster"
		}
	}
	return r
}

// StreamConfig reads the "key: value" lines of boot b's stream header.
func StreamConfig(b *store.BootRecord) map[string]string {
	cfg := map[string]string{}
	data, err := stream.ReadStored(filepath.Join(b.Dir, store.BenchFile))
	if err != nil {
		return cfg
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Benchmark") {
			break
		}
		if k, v, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(k, "#") && !strings.Contains(k, " ") {
			cfg[k] = stream.Printable(strings.TrimSpace(v), 100)
		}
	}
	return cfg
}
