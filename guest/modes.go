//go:build linux

package guest

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
)

// GarbageSize is how many random bytes ModeGarble writes after the stream.
const GarbageSize = 4096

// WriteStream writes the result stream of mode p.Mode to w: the header built
// from cfg (usually SystemConfig(suite, p)), then what the mode asks for,
// running the benchmarks of suite. Progress
// goes to log. It is the whole effect of the stream modes (see
// Mode.HasStream) and never powers off, hangs or crashes anything; for other
// modes it returns an error without writing.
//
// On an error the stream is left without an end marker.
func WriteStream(ctx context.Context, w io.Writer, suite Suite, p Params, cfg []ConfigPair, log io.Writer) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if !p.Mode.HasStream() {
		return fmt.Errorf("mode %q writes no stream", p.Mode)
	}
	s := NewStreamWriter(w)
	if err := writeHeader(s, cfg); err != nil {
		return err
	}
	switch p.Mode {
	case ModeProbe:
		return s.End()
	case ModeTruncate:
		// One Benchmark line, then stop as if the port died.
		return runBenchmarks(ctx, s, suite, p, 1, log)
	}
	if err := runBenchmarks(ctx, s, suite, p, 0, log); err != nil {
		return err
	}
	if err := runFidelity(ctx, s, suite, p, log); err != nil {
		return err
	}
	if p.Kallsyms {
		if err := writeKallsyms(s, KallsymsPath, log); err != nil {
			return err
		}
	}
	switch p.Mode {
	case ModeMiscount:
		return s.endWithCount(s.Count() + 1)
	case ModeGarble:
		if err := s.End(); err != nil {
			return err
		}
		return writeGarbage(w)
	}
	return s.End()
}

// writeGarbage writes GarbageSize random bytes to w in one Write.
func writeGarbage(w io.Writer) error {
	b := make([]byte, GarbageSize)
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rand.Uint64())
	}
	_, err := w.Write(b)
	return err
}
