//go:build linux

package guest

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"kharness/results/wire"
)

// fidelityCount is the count phase of one fidelity case, when the boot
// counts instructions: the Go loop's, as every benchmark's (countPhase),
// then the C reference's with the same plan (stretch lengths, pairs, the
// policy of switching cases, the settle before each stretch), each under
// its own tag. The host then has the exact instructions per operation of
// both loops from the same boot, and the kernel's share of each: the same
// kernel path taken from two programs should cost the kernel the same.
func fidelityCount(s *StreamWriter, p Params, in *Instance, c Calibration, b Benchmark, kref string) error {
	goName, cName := b.Name+ImplGo, b.Name+ImplC
	cn := planFor(c, in, goName)
	done := func(cn Counted) error { return s.Comment(cn.Comment("Benchmark" + goName)) }
	if err := countPhase(in, cn, &CountPhase{Sched: p.CountSched, Done: done}); err != nil {
		return err
	}
	cc := cn
	cc.Tag = wire.InsnsTag(cName)
	if err := runKrefCount(p.Kref, kref, cc, p.CountSched.effective()); err != nil {
		return err
	}
	cc.Clock = countClock(in)
	return s.Comment(cc.Comment("Benchmark" + cName))
}

// KrefNoRseq is the environment word that keeps glibc from registering
// the C reference's thread for restartable sequences (rseq), which it does
// for every thread from glibc 2.35 on. A task registered for rseq has the
// kernel run its rseq notify-resume work on every return to user space
// after it was switched in (on 6.1: __rseq_handle_notify_resume and what
// exit_to_user_mode_prepare calls with it, +156 kernel instructions a
// hop); a Go program never registers. With it off the C loops take the
// kernel path the Go loops take, and the fidelity check compares the
// programs, not the registration (docs/suite.md has the counts with it on).
const KrefNoRseq = "GLIBC_TUNABLES=glibc.pthread.rseq=0"

// krefEnv is the C reference's environment: the guest's, with KrefNoRseq.
func krefEnv() []string { return append(os.Environ(), KrefNoRseq) }

// krefCountArgs are the arguments of the C reference's count phase for
// plan cn of case kcase (see fidelity/kref.c).
func krefCountArgs(kcase string, cn Counted, sched CountSched) []string {
	return []string{"count", kcase, strconv.FormatUint(cn.Iters, 10), strconv.Itoa(cn.Reps), cn.Tag, string(sched)}
}

// runKrefCount runs the C reference's count phase. It prints nothing when
// it succeeds; what it prints otherwise is the error.
func runKrefCount(path, kcase string, cn Counted, sched CountSched) error {
	args := krefCountArgs(kcase, cn, sched)
	out, err := krefOutput(path, args...)
	if err != nil {
		return err
	}
	if len(out) > 0 {
		return fmt.Errorf("%s %s: unexpected output %q", path, strings.Join(args, " "), out)
	}
	return nil
}
