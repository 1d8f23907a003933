package stream

import (
	"errors"
	"fmt"
	"regexp"

	"kharness/results/wire"
)

// The results stream is what the guest benchmark program writes to its
// results serial port. It is benchfmt text framed by a version header and
// an end marker that carries a count and a checksum:
//
//	kharness-stream: 1
//	goos: linux
//	kernel-release: 6.1.0-56-cloud-amd64
//	# calibrate BenchmarkNullSyscall/call=getppid iters=43000 warmup=1000 target=100ms
//	BenchmarkNullSyscall/call=getppid 43000 462.31 ns/op
//	# skip BenchmarkFoo: reason
//	# kharness-end count=1 sha256=<hex sha256 of every byte before this line>
//
// Lines end in "\n" (a "\r" is rejected) and hold printable ASCII and tabs
// only. Every line is one of: the header (line 1 only); a config line
// "key: value" (before the first Benchmark line; keys unique; the value may
// be empty, as in "key:" or "key: ", for an unknown value); a comment
// "# text" (with "# skip BenchmarkName: reason" recording a skipped
// benchmark); a benchfmt Benchmark line; an empty line (ignored, as in
// benchfmt); or the end marker, which must be the last line and end in
// "\n".
const (
	// StreamHeader is the required first line of a results stream.
	StreamHeader = wire.HeaderKey + ": " + wire.Version
	// MaxStreamLine is the longest line Parse accepts, in bytes,
	// not counting the "\n".
	MaxStreamLine = 4096
	// DefaultStreamLimit is the byte limit Parse uses when given a
	// limit of zero or less.
	DefaultStreamLimit = 16 << 20

	streamHeaderKey = wire.HeaderKey
	endMarkerPrefix = wire.EndMarker
	skipPrefix      = "skip "
)

var endMarkerRE = regexp.MustCompile(`^# kharness-end count=(0|[1-9][0-9]{0,9}) sha256=([0-9a-f]{64})$`)

// KV is one config line: a benchfmt key and its value.
type KV struct {
	Key   string
	Value string
}

// Value is one measurement of a benchmark result, exactly as the guest
// wrote it (benchfmt's unit tidying, such as MB/s to B/s, is not applied).
type Value struct {
	Value float64
	Unit  string
}

// Result is one Benchmark line. Name follows the benchfmt convention: the
// full name including sub-benchmark parts and GOMAXPROCS suffix, without
// the "Benchmark" prefix (so "BenchmarkNullSyscall/call=getppid" has Name
// "NullSyscall/call=getppid").
type Result struct {
	Name   string
	Iters  int
	Values []Value
}

// Skip records a benchmark the guest skipped, from a "# skip
// BenchmarkName: reason" comment. Name has no "Benchmark" prefix, as in
// Result.
type Skip struct {
	Name   string
	Reason string
}

// Stream is a parsed and verified results stream.
type Stream struct {
	// Config holds the config lines in order, without the header line.
	// A Value may be empty.
	Config []KV
	// Results holds one entry per Benchmark line, in order.
	Results []Result
	// Skips holds the "# skip" comments, in order.
	Skips []Skip
	// Comments holds the text after "# " of every comment line except the
	// end marker, in order, including calibrate and skip lines.
	Comments []string
	// Count is the count from the end marker; it equals len(Results).
	Count int
	// Raw holds the verified bytes before the end marker line, header
	// included.
	Raw []byte
}

// Sentinel errors of Parse. Use errors.Is; the errors Parse
// returns are *GarbledError (for ErrGarbled) or *StreamError (for the
// others), which carry the line number and a quote of the line.
var (
	// ErrGarbled means the stream violates the format; see GarbledError.
	ErrGarbled = errors.New("garbled results stream")
	// ErrNoEndMarker means the stream ended (or was empty) before a
	// complete end marker line: the guest did not finish writing it.
	ErrNoEndMarker = errors.New("results stream truncated: no end marker")
	// ErrCountMismatch means the end marker's count differs from the
	// number of Benchmark lines.
	ErrCountMismatch = errors.New("results stream end marker count mismatch")
	// ErrChecksum means the end marker's sha256 differs from the sha256 of
	// the bytes before it.
	ErrChecksum = errors.New("results stream checksum mismatch")
)

// GarbledError reports a results stream that violates the format. It
// unwraps to ErrGarbled.
type GarbledError struct {
	// Line is the 1-based line number of the offending line.
	Line int
	// Text is the offending line, at most 64 bytes of it followed by
	// "..." if it was longer. It is raw guest data: print it with %q.
	Text string
	// Reason says what is wrong.
	Reason string
}

// Error implements error.
func (e *GarbledError) Error() string {
	return fmt.Sprintf("results stream line %d: %s: %q", e.Line, e.Reason, e.Text)
}

// Unwrap returns ErrGarbled.
func (e *GarbledError) Unwrap() error { return ErrGarbled }

// StreamError reports a results stream that is well formed as far as it
// goes but incomplete or inconsistent: Err is ErrNoEndMarker,
// ErrCountMismatch or ErrChecksum, and StreamError unwraps to it.
type StreamError struct {
	// Err is the sentinel error.
	Err error
	// Line is the 1-based line number: of the end marker for
	// ErrCountMismatch and ErrChecksum; for ErrNoEndMarker, of the line
	// at which the input ended (one past the last complete line, or the
	// unterminated last line).
	Line int
	// Text quotes the line like GarbledError.Text.
	Text string
	// Detail gives specifics, such as the counts or checksums compared.
	Detail string
}

// Error implements error.
func (e *StreamError) Error() string {
	if e.Text == "" {
		return fmt.Sprintf("results stream line %d: %v: %s", e.Line, e.Err, e.Detail)
	}
	return fmt.Sprintf("results stream line %d: %v: %s: %q", e.Line, e.Err, e.Detail, e.Text)
}

// Unwrap returns e.Err.
func (e *StreamError) Unwrap() error { return e.Err }
