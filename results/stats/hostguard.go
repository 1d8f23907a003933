package stats

import (
	"fmt"
	"kharness/results/store"
	"slices"
	"strings"
	"sync"
)

// The guest times a fixed user-space reference loop, which makes no system
// call, around every sample and adds the slower of the two runs to the
// sample's line (guest.RefUnit). The kernel under test does not change
// the reference's cost; the host does. On a shared host, whole boots or
// stretches of a boot run 1.5-1.9x slower across every benchmark, and the
// reference slows with them (measured under TCG, one VM at a time:
// 4.7-6.9 ns an iteration in fast stretches, 7.3-13 ns in slow ones, a
// third of the samples). A HostGuard sets aside the samples whose
// reference ran more than Factor times the typical reference, so that a
// kernel is not called slow because the host was.
//
// The typical level is the median of every reference compared. Where slow
// stretches are the minority it lies among the fast ones, and the slow are
// set aside. Where the host is slow most of the time (two VMs on two
// cores: 5 of 8 boots slow) it lies among the slow ones and little is set
// aside: the guard then keeps the samples, and their noise, rather than
// leave a comparison with next to no boots. (A low quantile as the level
// set aside 64% of the samples there and emptied cells.)

// DefaultSlowFactor is the HostGuard factor kharness uses unless told
// otherwise: above the fast stretches' spread around the typical level,
// below the slow stretches' 1.5x and more.
const DefaultSlowFactor = 1.3

// HostGuard sets aside the samples of a set of boots that ran while the
// host was slow. It pools the references of every ok boot it guards that
// ran on one host, so the typical level comes from all kernels and configs
// compared there: a kernel whose boots all ran slow cannot set its own
// level. Boots from different hosts (a nightly history across machines,
// shards on several nodes) each get their own host's level, so a slower
// machine's boots are not taken for slow stretches of a faster one.
type HostGuard struct {
	// Factor: a sample is set aside when its reference took more than
	// Factor times the typical level. 0 or less keeps every sample.
	Factor float64
	// Correct, instead of setting slow samples aside, scales every timed
	// value of a sample by the lower quartile of its cell and benchmark's
	// references (the host's fast state) over the sample's reference: a
	// stretch in which the host ran the loop 1.6× slower counts its sample
	// at 1/1.6 of what it read. Nothing is set aside. The quartile, not
	// the median: where half a cell's samples ran slow, a median level
	// lies among the slow ones and scaled the fast samples up (a
	// mitigations=off cell whose boots hit more slow stretches read ×1.27
	// against the default, p=0.008, for a change that is not there).
	// Measured on a quiet 2-core host (6.12, 5 boots a cell): the spread
	// between boots of getppid with pti=on fell from 23.7% to 5.1%, of a
	// 1-byte read from 8.4% to 5.0%.
	Correct bool

	boots  []*store.BootRecord
	mu     sync.Mutex
	bench  map[*store.BootRecord]*benchOnce // each boot's boot.bench, read once
	once   sync.Once
	levels map[string]float64 // by levelKey: the median reference, sec an iteration
	fast   map[string]float64 // by levelKey: the lower quartile, the host's fast state
	err    error
}

// hostKey is the machine a boot ran on, as far as the records tell (the
// run's host name, the host CPU, the accelerator and the QEMU version),
// and the boot's kernel and config: the reference loop runs in user
// space, but the guest's own interrupts land in it, and a config that
// makes them dearer moves it. Under TCG with pti=on, or a CPU vendor the
// kernel turns PTI on for, the reference read 1.4× the default's on an
// idle host, and one level for the host set aside every such boot as
// host-slow. So each cell is judged against its own typical level.
func hostKey(b *store.BootRecord) string {
	return strings.Join([]string{b.Host, b.HostCPU, b.Accel, b.QEMUVersion, b.Kernel.Label, b.Kernel.SHA256, b.Config.Name, b.Config.Cmdline, b.Config.CPU}, "\x00")
}

// levelKey is what a typical reference level is taken over: a cell on one
// host (hostKey) and one benchmark. The guest's state around each
// benchmark moves the reference on an idle host (with the 32-bit helper of
// NullSyscall32 running beside it, the loop read 8.6-14 ns where around
// the 64-bit getppid it read 5.5), so one level for the cell scaled every
// getppid sample up by a tenth or more.
func levelKey(b *store.BootRecord, l store.Line) string {
	return hostKey(b) + "\x00" + l.Name
}

// Guard returns a HostGuard with factor over boots: the boots whose
// samples it judges, and whose references set each host's level. Every
// reading of a boot's samples goes through a guard (factor 0 keeps every
// sample), which also reads each boot's boot.bench once.
func Guard(boots []*store.BootRecord, factor float64) *HostGuard {
	return &HostGuard{Factor: factor, boots: boots, bench: map[*store.BootRecord]*benchOnce{}}
}

// benchOnce is a boot's boot.bench, read once.
type benchOnce struct {
	once  sync.Once
	bench *store.Bench
	err   error
}

// read returns ok boot b's boot.bench as ReadBench reads it, once per guard.
func (g *HostGuard) read(b *store.BootRecord) (*store.Bench, error) {
	g.mu.Lock()
	o := g.bench[b]
	if o == nil {
		o = &benchOnce{}
		g.bench[b] = o
	}
	g.mu.Unlock()
	o.once.Do(func() { o.bench, o.err = store.ReadBench(b) })
	return o.bench, o.err
}

// Levels returns the references' typical level on each host, their
// median, in seconds an iteration, sorted; none if no boot carries
// references (runs made before the guest timed them).
func (g *HostGuard) Levels() ([]float64, error) {
	if err := g.compute(); err != nil {
		return nil, err
	}
	var ls []float64
	for _, l := range g.levels {
		ls = append(ls, l)
	}
	slices.Sort(ls)
	return ls, nil
}

// compute finds each host's level once.
func (g *HostGuard) compute() error {
	g.once.Do(func() {
		refs := map[string][]float64{}
		for _, b := range g.boots {
			if !b.Status.OK() {
				continue
			}
			bench, err := g.read(b)
			if err != nil {
				g.err = err
				return
			}
			for _, l := range bench.Lines {
				if l.Ref > 0 {
					k := levelKey(b, l)
					refs[k] = append(refs[k], l.Ref)
				}
			}
		}
		g.levels, g.fast = map[string]float64{}, map[string]float64{}
		for k, rs := range refs {
			g.levels[k] = Median(rs)
			slices.Sort(rs)
			g.fast[k] = rs[(len(rs)-1)/4]
		}
	})
	return g.err
}

// kept says which of ok boot b's lines g keeps: those whose reference
// took no more than Factor times the level of b's host, unless half or
// more of the boot's references did, when the whole boot is set aside
// (whole). In such a boot the host flapped between fast and slow faster
// than the samples, and a sample between two fast references was
// measured slow as often as not (seen under TCG: 40-44 µs lat_ctx samples
// whose neighbours read 32 µs). A nil g, or one whose Factor is 0 or
// less, keeps every line.
func (g *HostGuard) kept(b *store.BootRecord, lines []store.Line) (keep []bool, whole bool, err error) {
	keep = make([]bool, len(lines))
	for i := range keep {
		keep[i] = true
	}
	if g == nil || g.Factor <= 0 || g.Correct {
		return keep, false, nil
	}
	if err := g.compute(); err != nil {
		return nil, false, err
	}
	with, out := 0, 0
	for i, l := range lines {
		if l.Ref <= 0 {
			continue
		}
		with++
		if level := g.levels[levelKey(b, l)]; level > 0 && l.Ref > g.Factor*level {
			keep[i] = false
			out++
		}
	}
	if with > 0 && 2*out >= with {
		// Lines without a reference (exact counts) are not the host's
		// to judge: they stay.
		for i, l := range lines {
			if l.Ref > 0 {
				keep[i] = false
			}
		}
		return keep, true, nil
	}
	return keep, false, nil
}

// scale is what Correct multiplies line l's timed values of boot b by:
// the cell's level over l's reference; 1 when not correcting or when l
// has no reference.
func (g *HostGuard) scale(b *store.BootRecord, l store.Line) (float64, error) {
	if g == nil || !g.Correct || g.Factor <= 0 || l.Ref <= 0 {
		return 1, nil
	}
	if err := g.compute(); err != nil {
		return 0, err
	}
	if fast := g.fast[levelKey(b, l)]; fast > 0 {
		return fast / l.Ref, nil
	}
	return 1, nil
}

// TimedUnit reports whether unit, as benchfmt tidies it, is a time (sec/op,
// raw-sec/op, p99-sec), which Correct scales; rates, counts and shares
// are not.
func TimedUnit(unit string) bool {
	return strings.Contains(unit, "sec") && !strings.Contains(unit, "/s")
}

// guardedLines returns ok boot b's Benchmark lines, which of them g
// keeps (see kept), and warnings for lines that did not parse.
func (g *HostGuard) guardedLines(b *store.BootRecord) (lines []store.Line, keep []bool, warns []string, err error) {
	bench, err := g.read(b)
	if err != nil {
		return nil, nil, nil, err
	}
	if keep, _, err = g.kept(b, bench.Lines); err != nil {
		return nil, nil, nil, err
	}
	return bench.Lines, keep, bench.Warnings, nil
}

// GuardStats counts what a HostGuard set aside.
type GuardStats struct {
	Levels    []float64 // the typical level of each host, sec an iteration, sorted
	Factor    float64
	Samples   int // sample lines with a reference, in ok boots
	SetAside  int // of those, set aside
	Boots     int // ok boots with references
	WholeBoot int // of those, boots set aside whole
	Correct   bool
}

// Stats counts the samples and boots g sets aside.
func (g *HostGuard) Stats() (GuardStats, error) {
	levels, err := g.Levels()
	st := GuardStats{Levels: levels, Factor: g.Factor, Correct: g.Correct}
	if err != nil {
		return st, err
	}
	for _, b := range g.boots {
		if !b.Status.OK() {
			continue
		}
		bench, err := g.read(b)
		if err != nil {
			return st, err
		}
		lines := bench.Lines
		keep, whole, err := g.kept(b, lines)
		if err != nil {
			return st, err
		}
		with := 0
		for i, l := range lines {
			if l.Ref > 0 {
				with++
				if !keep[i] {
					st.SetAside++
				}
			}
		}
		if with > 0 {
			st.Boots++
			st.Samples += with
			if whole {
				st.WholeBoot++
			}
		}
	}
	return st, nil
}

// String says what was set aside, for a note under a table.
func (s GuardStats) String() string {
	if s.Samples == 0 || len(s.Levels) == 0 {
		return ""
	}
	level := fmt.Sprintf("typically %.2f ns an iteration", s.Levels[0]*1e9)
	if n := len(s.Levels); n > 1 {
		level = fmt.Sprintf("typically %.2f-%.2f ns an iteration over %d cells and benchmarks, each against its own", s.Levels[0]*1e9, s.Levels[n-1]*1e9, n)
	}
	if s.Correct && s.Factor > 0 {
		return fmt.Sprintf("host reference loop: %s; each timed sample of %d scaled to the host's fast state (its cell and benchmark's lower-quartile reference over its own; -host-correct), none set aside", level, s.Samples)
	}
	if s.Factor <= 0 {
		return fmt.Sprintf("host reference loop: %s; no sample set aside (guard off)", level)
	}
	return fmt.Sprintf("host reference loop: %s; %d of %d samples ran while it took more than %gx that and were set aside as host-slow, with %d of %d boots whole (half their samples or more slow)",
		level, s.SetAside, s.Samples, s.Factor, s.WholeBoot, s.Boots)
}
