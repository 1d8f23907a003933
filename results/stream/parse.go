package stream

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"kharness/results/wire"

	"golang.org/x/perf/benchfmt"
)

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
		if ExactUnit(v.Unit) {
			return p.garbled(line, "unit %s: only the host writes exact counts (from the counting plugin's file), never the guest", v.Unit)
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
	if bytes.HasPrefix(text, []byte(wire.InsnsNonePrefix)) {
		return p.garbled(line, "only the host says where a benchmark has no exact count, never the guest")
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
