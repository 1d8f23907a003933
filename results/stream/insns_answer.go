package stream

import (
	"fmt"

	"kharness/results/wire"
)

// NoCount is a counted benchmark of a boot that has no count: its
// stretches gave no one answer (see phase.answer), and Reason says how.
type NoCount struct {
	Name   string // without "Benchmark"
	Reason string
}

// Comment is the boot.bench comment that records n:
// "insns-none BenchmarkX: reason".
func (n NoCount) Comment() string {
	return wire.InsnsNonePrefix + "Benchmark" + n.Name + ": " + SafeText(n.Reason, 400)
}

// diff is a long stretch's count less a short one's, signed.
type diff struct{ total, kernel int64 }

// minus is x less y.
func (x stretch) minus(y stretch) diff {
	return diff{int64(x.total - y.total), int64(x.kernel - y.kernel)}
}

// mode returns the value that recurs most in xs, how often, and how many
// values recur that often.
func mode[T comparable](xs []T) (best T, n, ties int) {
	count := map[T]int{}
	for _, x := range xs {
		count[x]++
	}
	for _, x := range xs {
		if count[x] > n {
			best, n = x, count[x]
		}
	}
	for _, c := range count {
		if c == n {
			ties++
		}
	}
	return best, n, ties
}

// answer returns the typical short and long stretches of g, the phase's
// stretches (short, long, short, ...), when they give one consistent
// answer, or why they do not. An interrupt or another task adds
// instructions to a stretch, and the scheduler now and then takes another
// path through a pipe round trip or a switch, so the answer is the most
// common count of each length (the minimum would pick a rarer path). It
// is consistent when each length's most common count recurs and has no
// rival as common, and the most common difference between the two
// stretches of one pair, which recurs with no rival too, is the same:
// otherwise the two most common counts came from different paths (seen: an
// int $0x80 phase whose most common short count had something else in it,
// which gave 56.52 instructions a call, 104.4 of them in the kernel,
// against 364 from the pair that recurred). A consistent answer whose
// kernel part exceeds its total is none either. The error is for a long
// stretch that consistently counts fewer instructions than the short one:
// the markers are out of step.
func (ph phase) answer(g []stretch) (short, long stretch, why string, err error) {
	var ss, ls []stretch
	var ds []diff
	for i := 0; i+1 < len(g); i += 2 {
		ss, ls = append(ss, g[i]), append(ls, g[i+1])
		ds = append(ds, g[i+1].minus(g[i]))
	}
	short, ns, ts := mode(ss)
	long, nl, tl := mode(ls)
	d, nd, td := mode(ds)
	a := long.minus(short)
	switch {
	case ns < 2 || nl < 2:
		return short, long, fmt.Sprintf("no count recurs among the %d short stretches or the %d long ones (most common: %d and %d times)", len(ss), len(ls), ns, nl), nil
	case ts > 1 || tl > 1:
		return short, long, fmt.Sprintf("no one path: %d counts of the short stretches recur most (%d times each), %d of the long ones (%d times each)", ts, ns, tl, nl), nil
	case nd < 2 || td > 1:
		return short, long, fmt.Sprintf("no one difference between the stretches of a pair recurs most (%d of them %d times each)", td, nd), nil
	case a != d:
		return short, long, fmt.Sprintf("the most common counts come from different paths: short %d (%d in the kernel, %d times) and long %d (%d, %d times) differ by %d (%d), but the most common difference within a pair is %d (%d, %d times)",
			short.total, short.kernel, ns, long.total, long.kernel, nl, a.total, a.kernel, d.total, d.kernel, nd), nil
	case d.total < 0 || d.kernel < 0:
		return short, long, "", fmt.Errorf("instruction counts: %s: the long stretch counted fewer instructions (%d, %d in the kernel) than the short one (%d, %d)",
			ph.name, long.total, long.kernel, short.total, short.kernel)
	case d.kernel > d.total:
		return short, long, fmt.Sprintf("more instructions in the kernel (%d) than in all (%d) between the stretches", d.kernel, d.total), nil
	case 2*short.kernel < long.kernel:
		// The markers are user-space instructions, so what surrounds the
		// loop (twice the short stretch less the long one) runs none in
		// the kernel: 0 in every clean count measured (1,630 of them,
		// 6.1 to 7.3). Below 0, the long stretch's common count carries
		// kernel work the short one's lacks, in step with the length: an
		// interrupt that a host busy enough to stall the guest puts in
		// most long stretches (seen: 474.8 getppid instructions, not
		// 325), or a ring's periodic detour (PELT decay, 61).
		return short, long, fmt.Sprintf("the long stretches' common count has kernel work the short ones' lacks (twice the short, %d in the kernel, less the long, %d: %d, where a clean count has 0): an interrupt or a periodic detour in most long stretches",
			short.kernel, long.kernel, int64(2*short.kernel)-int64(long.kernel)), nil
	}
	return short, long, "", nil
}
