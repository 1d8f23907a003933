//go:build linux

package guest

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"

	"kharness/results/wire"
)

// Suffixes of the fidelity check's benchmark names.
const (
	ImplGo = wire.ImplGo
	ImplC  = wire.ImplC
)

// fidelityOn reports whether the fidelity check runs: kharness.fidelity=1,
// or a run pattern that names it ("impl="; a config cannot set kharness.*
// words itself, so configs/fidelity.toml selects it this way).
func fidelityOn(p Params) bool {
	return p.Fidelity || strings.Contains(p.Run, "impl=")
}

// runFidelity runs the fidelity check when fidelityOn: for each benchmark
// of the suite with a C reference case (Benchmark.Kref), in suite order,
// whose "/impl=go" name matches p.Run, it calibrates the Go loop, then
// alternates Go and C samples of the same iteration count, so that drift
// of the machine hits both alike.
func runFidelity(ctx context.Context, s *StreamWriter, suite Suite, p Params, log io.Writer) error {
	if !fidelityOn(p) {
		return nil
	}
	re, err := regexp.Compile(p.Run)
	if err != nil {
		return err
	}
	_, krefErr := os.Stat(p.Kref)
	for _, b := range suite.Benchmarks {
		if b.Kref == "" {
			continue
		}
		goName := b.Name + ImplGo
		if !re.MatchString("Benchmark" + goName) {
			continue
		}
		if krefErr != nil {
			if err := s.Skip(goName, fmt.Sprintf("no C reference: %v", krefErr)); err != nil {
				return err
			}
			continue
		}
		if why := skipReason(b); why != "" {
			if err := s.Skip(goName, why); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(log, "kguest: fidelity %s: Go vs C\n", b.Name)
		if err := fidelityCase(ctx, s, p, b, b.Kref); err != nil {
			return fmt.Errorf("fidelity %s: %w", b.Name, err)
		}
	}
	return nil
}

// fidelityCase runs one case of the fidelity check.
func fidelityCase(ctx context.Context, s *StreamWriter, p Params, b Benchmark, kref string) error {
	runtime.GC()
	return onOwnThread(b.Threads, func() error { return fidelityCaseOn(ctx, s, p, b, kref) })
}

// fidelityCaseOn is fidelityCase on the benchmark's thread.
func fidelityCaseOn(ctx context.Context, s *StreamWriter, p Params, b Benchmark, kref string) (err error) {
	in, err := b.start(p.Benchtime)
	if err != nil {
		return err
	}
	defer func() {
		if serr := in.stop(); err == nil {
			err = serr
		}
	}()
	c := calibrate(in.Loop, p.Benchtime)
	if err := s.Comment(calibrateComment("Benchmark"+b.Name+ImplGo, c, in) + " c-reference=" + p.Kref + " " + kref); err != nil {
		return err
	}
	ops := max(in.Ops, 1)
	for i := 0; i < p.Count; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := timeLoop(in.Loop, c.Iters)
		if err := in.check(); err != nil {
			return err
		}
		raw := float64(d.Nanoseconds()) / float64(c.Iters*ops)
		ov := in.overheadNow(c.Iters * ops)
		if raw-ov <= 0 {
			// No pair for this round: a failed sample, not a 0.
			if err := s.Comment(fmt.Sprintf("%sBenchmark%s%s: the overhead (%.1f ns/op) is not below the total (%.1f ns/op)", FailedSamplePrefix, b.Name, ImplGo, ov, raw)); err != nil {
				return err
			}
			continue
		}
		if err := s.ResultValues(b.Name+ImplGo, c.Iters*ops, fidelityValues(raw-ov, raw, in.subtracts())); err != nil {
			return err
		}
		ns, craw, err := runKref(p.Kref, kref, c.Iters)
		if err != nil {
			return err
		}
		if err := s.ResultValues(b.Name+ImplC, c.Iters*ops, fidelityValues(ns, craw, in.subtracts())); err != nil {
			return err
		}
	}
	if p.Insns {
		return fidelityCount(s, p, in, c, b, kref)
	}
	return nil
}

// fidelityValues are the values of a fidelity line: ns/op, and raw-ns/op
// when an overhead was subtracted.
func fidelityValues(ns, raw float64, sub bool) []Value {
	if sub {
		return []Value{{ns, "ns/op"}, {raw, wire.RawUnit}}
	}
	return []Value{{ns, "ns/op"}}
}

// runKref runs the C reference for one sample and returns its "NS RAW".
func runKref(path, kcase string, iters uint64) (ns, raw float64, err error) {
	out, err := krefOutput(path, kcase, strconv.FormatUint(iters, 10))
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(out))
	if len(f) == 2 {
		ns, err = strconv.ParseFloat(f[0], 64)
		if err == nil {
			raw, err = strconv.ParseFloat(f[1], 64)
		}
		if err == nil {
			return ns, raw, nil
		}
	}
	return 0, 0, fmt.Errorf("%s %s: output %q, want \"NS RAW\"", path, kcase, out)
}

// krefOutput runs the C reference with args, in krefEnv, and returns what
// it printed (at most 4 KiB). Its output comes through a pipe read on this
// goroutine: the benchmark thread's descriptor table is its own, so no
// other goroutine (such as the copier exec.Cmd.Output starts) may use a
// descriptor opened here.
func krefOutput(path string, args ...string) ([]byte, error) {
	what := path + " " + strings.Join(args, " ")
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr, cmd.Env = w, w, krefEnv()
	err = cmd.Start()
	w.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out, rerr := io.ReadAll(io.LimitReader(r, 4096))
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", what, err, strings.TrimSpace(string(out)))
	}
	if rerr != nil {
		return nil, fmt.Errorf("%s: reading its output: %w", what, rerr)
	}
	return out, nil
}
