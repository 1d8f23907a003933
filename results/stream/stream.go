package stream

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"kharness/results/wire"

	"golang.org/x/perf/benchfmt"
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

// Parse reads a results stream from r up to EOF, verifies its end
// marker and validates every guest-controlled string in it (names with
// ValidName, units with ValidUnit, config with ValidConfigKey and
// ValidConfigValue; values must be finite and non-negative and iteration
// counts positive). A stream of more than limit bytes is garbled; a limit
// of zero or less means DefaultStreamLimit. On error it returns a nil
// Stream and an error matching ErrGarbled, ErrNoEndMarker,
// ErrCountMismatch or ErrChecksum with errors.Is, or an I/O error from r.
func Parse(r io.Reader, limit int64) (*Stream, error) {
	if limit <= 0 {
		limit = DefaultStreamLimit
	}
	readLimit := limit
	if readLimit < math.MaxInt64 {
		readLimit++ // Read one byte more to notice a flood.
	}
	p := &streamParser{
		br:    bufio.NewReaderSize(io.LimitReader(r, readLimit), MaxStreamLine+1),
		limit: limit,
		keys:  make(map[string]bool),
		s:     new(Stream),
	}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return p.s, nil
}

type streamParser struct {
	br    *bufio.Reader
	limit int64
	total int64
	line  int
	raw   bytes.Buffer
	keys  map[string]bool
	bf    benchfmt.Reader
	s     *Stream
}

func (p *streamParser) garbled(text []byte, format string, args ...any) *GarbledError {
	return &GarbledError{Line: p.line, Text: clipText(string(text)), Reason: fmt.Sprintf(format, args...)}
}

// readLine reads the next line. It returns the line without its "\n",
// whether it ended in "\n", and io.EOF at a clean end of input. The line
// is only valid until the next read.
func (p *streamParser) readLine() (line []byte, complete bool, err error) {
	p.line++
	b, err := p.br.ReadSlice('\n')
	p.total += int64(len(b))
	if p.total > p.limit {
		return nil, false, p.garbled(b, "stream exceeds the limit of %d bytes", p.limit)
	}
	switch err {
	case nil:
		return b[:len(b)-1], true, nil
	case bufio.ErrBufferFull:
		return nil, false, p.garbled(b, "line longer than %d bytes", MaxStreamLine)
	case io.EOF:
		if len(b) == 0 {
			return nil, false, io.EOF
		}
		return b, false, nil
	}
	return nil, false, fmt.Errorf("results stream line %d: read: %w", p.line, err)
}

func (p *streamParser) parse() error {
	for {
		line, complete, err := p.readLine()
		if err == io.EOF {
			detail := fmt.Sprintf("input ended after %d complete lines", p.line-1)
			if p.line == 1 {
				detail = "empty stream"
			}
			return &StreamError{Err: ErrNoEndMarker, Line: p.line, Detail: detail}
		}
		if err != nil {
			return err
		}
		if !complete {
			detail := "input ended inside a line"
			if bytes.HasPrefix(line, []byte(endMarkerPrefix)) {
				detail = "end marker line not terminated by \"\\n\""
			}
			return &StreamError{Err: ErrNoEndMarker, Line: p.line, Text: clipText(string(line)), Detail: detail}
		}
		if err := p.checkChars(line); err != nil {
			return err
		}
		if p.line == 1 {
			if err := p.checkHeader(line); err != nil {
				return err
			}
		} else if bytes.HasPrefix(line, []byte(endMarkerPrefix)) {
			return p.finish(line)
		}
		p.raw.Write(line)
		p.raw.WriteByte('\n')
		if p.line == 1 {
			continue
		}
		if err := p.parseLine(line); err != nil {
			return err
		}
	}
}

// checkChars rejects anything but printable ASCII and tabs.
func (p *streamParser) checkChars(line []byte) error {
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\t' || (c >= 0x20 && c < 0x7f):
			continue
		case c == '\r' && i == len(line)-1:
			return p.garbled(line, "CRLF line ending (lines must end in \"\\n\" alone)")
		case c < utf8.RuneSelf:
			return p.garbled(line, "control character %q at column %d", c, i+1)
		}
		r, n := utf8.DecodeRune(line[i:])
		if r == utf8.RuneError && n == 1 {
			return p.garbled(line, "invalid UTF-8 at column %d", i+1)
		}
		return p.garbled(line, "non-ASCII character %U at column %d", r, i+1)
	}
	return nil
}

func (p *streamParser) checkHeader(line []byte) error {
	if string(line) == StreamHeader {
		return nil
	}
	if v, ok := bytes.CutPrefix(line, []byte(streamHeaderKey+":")); ok {
		return p.garbled(line, "unsupported stream version %q (want %q)", clipText(strings.TrimLeft(string(v), " \t")), StreamHeader)
	}
	return p.garbled(line, "first line is not the stream header %q", StreamHeader)
}

func (p *streamParser) parseLine(line []byte) error {
	switch {
	case len(line) == 0:
		return nil
	case bytes.HasPrefix(line, []byte("Benchmark")):
		return p.parseBenchmark(line)
	case line[0] == '#':
		return p.parseComment(line)
	}
	return p.parseConfig(line)
}

func (p *streamParser) parseBenchmark(line []byte) error {
	p.bf.Reset(bytes.NewReader(line), "results stream")
	if !p.bf.Scan() {
		return p.garbled(line, "Benchmark line without iteration count and values")
	}
	var res *benchfmt.Result
	switch rec := p.bf.Result().(type) {
	case *benchfmt.SyntaxError:
		return p.garbled(line, "malformed Benchmark line: %s", rec.Msg)
	case *benchfmt.Result:
		res = rec
	default:
		return p.garbled(line, "malformed Benchmark line: unexpected %T", rec)
	}
	r := Result{Name: string(res.Name), Iters: res.Iters}
	if err := ValidName(r.Name); err != nil {
		return p.garbled(line, "%v", err)
	}
	if r.Iters <= 0 {
		return p.garbled(line, "iteration count %d is not positive", r.Iters)
	}
	r.Values = make([]Value, 0, len(res.Values))
	for _, bv := range res.Values {
		v := Value{Value: bv.Value, Unit: bv.Unit}
		if bv.OrigUnit != "" {
			v = Value{Value: bv.OrigValue, Unit: bv.OrigUnit}
		}
		if err := ValidUnit(v.Unit); err != nil {
			return p.garbled(line, "%v", err)
		}
		if err := ValidValue(v.Value, v.Unit); err != nil {
			return p.garbled(line, "%v", err)
		}
		r.Values = append(r.Values, v)
	}
	p.s.Results = append(p.s.Results, r)
	return nil
}

func (p *streamParser) parseComment(line []byte) error {
	text, ok := bytes.CutPrefix(line, []byte("# "))
	if !ok {
		return p.garbled(line, "comment does not start with \"# \"")
	}
	if rest, ok := bytes.CutPrefix(text, []byte(skipPrefix)); ok {
		name, reason, ok := strings.Cut(string(rest), " ")
		name, colon := strings.CutSuffix(name, ":")
		name, bench := strings.CutPrefix(name, "Benchmark")
		reason = strings.TrimSpace(reason)
		if !ok || !colon || !bench || reason == "" {
			return p.garbled(line, "malformed skip line (want \"# skip BenchmarkName: reason\")")
		}
		if err := ValidName(name); err != nil {
			return p.garbled(line, "skip: %v", err)
		}
		p.s.Skips = append(p.s.Skips, Skip{Name: name, Reason: reason})
	}
	p.s.Comments = append(p.s.Comments, string(text))
	return nil
}

func (p *streamParser) parseConfig(line []byte) error {
	i := bytes.IndexByte(line, ':')
	if i <= 0 || line[0] < 'a' || line[0] > 'z' {
		return p.garbled(line, "unrecognized line (want \"key: value\", a Benchmark line or a \"# \" comment)")
	}
	key, val := string(line[:i]), line[i+1:]
	if err := ValidConfigKey(key); err != nil {
		return p.garbled(line, "%v", err)
	}
	if len(val) > 0 && val[0] != ' ' && val[0] != '\t' {
		return p.garbled(line, "config line has no space after %q", key+":")
	}
	value := strings.TrimLeft(string(val), " \t")
	switch {
	case key == streamHeaderKey:
		return p.garbled(line, "repeated stream header")
	case p.keys[key]:
		return p.garbled(line, "duplicate config key %q", key)
	case len(p.s.Results) > 0:
		return p.garbled(line, "config line after the first Benchmark line")
	}
	if err := ValidConfigValue(value); err != nil {
		return p.garbled(line, "%v", err)
	}
	p.keys[key] = true
	p.s.Config = append(p.s.Config, KV{Key: key, Value: value})
	return nil
}

// finish handles the end marker line and what follows it.
func (p *streamParser) finish(line []byte) error {
	m := endMarkerRE.FindSubmatch(line)
	if m == nil {
		return p.garbled(line, "bad end marker (want \"# kharness-end count=N sha256=<64 lower-case hex digits>\")")
	}
	endLine, endText := p.line, clipText(string(line))
	count, err := strconv.Atoi(string(m[1]))
	if err != nil {
		return p.garbled(line, "bad end marker count: %v", err)
	}
	want := string(m[2])

	// Anything after the end marker is garbage, however well formed.
	p.line++
	b, err := p.br.ReadSlice('\n')
	if len(b) > 0 {
		if bytes.HasPrefix(b, []byte(endMarkerPrefix)) {
			return p.garbled(b, "duplicate end marker")
		}
		return p.garbled(b, "data after the end marker")
	}
	if err != io.EOF {
		return fmt.Errorf("results stream line %d: read: %w", p.line, err)
	}

	sum := sha256.Sum256(p.raw.Bytes())
	if got := hex.EncodeToString(sum[:]); got != want {
		return &StreamError{Err: ErrChecksum, Line: endLine, Text: endText,
			Detail: fmt.Sprintf("end marker has sha256 %s, the %d bytes before it have sha256 %s", want, p.raw.Len(), got)}
	}
	if count != len(p.s.Results) {
		return &StreamError{Err: ErrCountMismatch, Line: endLine, Text: endText,
			Detail: fmt.Sprintf("end marker says count=%d, stream has %d Benchmark lines", count, len(p.s.Results))}
	}
	p.s.Count = count
	p.s.Raw = bytes.Clone(p.raw.Bytes())
	if p.s.Raw == nil {
		p.s.Raw = []byte{}
	}
	return nil
}

// WriteBench writes s to w as a clean benchfmt file: the extra (host-side)
// config lines first, then s.Config, a blank line, the comments as "# "
// lines, then the Benchmark lines, without the stream header and end
// marker. golang.org/x/perf/benchfmt reads it back to the same results,
// each carrying extra and s.Config as file config. Config with an empty
// value is left out, since benchfmt cannot represent it ("key:" deletes
// key). WriteBench validates everything it writes and writes nothing if any
// string is invalid, an extra key is repeated, or a key appears in both
// extra and s.Config (the guest may not override host facts).
func (s *Stream) WriteBench(w io.Writer, extra []KV) error {
	var b bytes.Buffer
	seen := make(map[string]string)
	writeKV := func(kv KV, where string) error {
		if err := ValidConfigKey(kv.Key); err != nil {
			return fmt.Errorf("write bench: %s: %w", where, err)
		}
		if err := ValidConfigValue(kv.Value); err != nil {
			return fmt.Errorf("write bench: %s: %w", where, err)
		}
		if kv.Key == streamHeaderKey {
			return fmt.Errorf("write bench: %s: reserved config key %q", where, kv.Key)
		}
		if prev, dup := seen[kv.Key]; dup {
			return fmt.Errorf("write bench: %s: config key %q already set by %s", where, kv.Key, prev)
		}
		seen[kv.Key] = where
		if kv.Value != "" {
			fmt.Fprintf(&b, "%s: %s\n", kv.Key, kv.Value)
		}
		return nil
	}
	for i, kv := range extra {
		if err := writeKV(kv, fmt.Sprintf("extra config %d", i+1)); err != nil {
			return err
		}
	}
	for i, kv := range s.Config {
		if err := writeKV(kv, fmt.Sprintf("stream config %d", i+1)); err != nil {
			return err
		}
	}
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	for i, c := range s.Comments {
		if err := validCommentText(c); err != nil {
			return fmt.Errorf("write bench: comment %d: %w", i+1, err)
		}
		fmt.Fprintf(&b, "# %s\n", c)
	}
	for i, r := range s.Results {
		if err := ValidName(r.Name); err != nil {
			return fmt.Errorf("write bench: result %d: %w", i+1, err)
		}
		if r.Iters <= 0 {
			return fmt.Errorf("write bench: result %d (%s): iteration count %d is not positive", i+1, r.Name, r.Iters)
		}
		if len(r.Values) == 0 {
			return fmt.Errorf("write bench: result %d (%s): no values", i+1, r.Name)
		}
		fmt.Fprintf(&b, "Benchmark%s %d", r.Name, r.Iters)
		for _, v := range r.Values {
			if err := ValidUnit(v.Unit); err != nil {
				return fmt.Errorf("write bench: result %d (%s): %w", i+1, r.Name, err)
			}
			if err := ValidValue(v.Value, v.Unit); err != nil {
				return fmt.Errorf("write bench: result %d (%s): %w", i+1, r.Name, err)
			}
			fmt.Fprintf(&b, " %s %s", strconv.FormatFloat(v.Value, 'g', -1, 64), v.Unit)
		}
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}
