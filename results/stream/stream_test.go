package stream_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"kharness/results/stream"
)

// streamTestBody is a good stream without its end marker: 15 lines, 4
// Benchmark lines.
const streamTestBody = `kharness-stream: 1
goos: linux
goarch: amd64
kernel-release: 6.1.0-56-cloud-amd64
kernel-cmdline: console=ttyS0 pti=on kharness.count=5
cpu-model: QEMU Virtual CPU version 2.5+
clocksource: tsc

# calibrate BenchmarkNullSyscall/call=getppid iters=43000 warmup=1000 target=100ms
BenchmarkNullSyscall/call=getppid 43000 462.31 ns/op
BenchmarkNullSyscall/call=getppid	43000	460.9 ns/op
# calibrate BenchmarkPageFault/procs=8/ws=16KiB iters=1000 warmup=100 target=100ms
BenchmarkPageFault/procs=8/ws=16KiB-8 1000 1523 ns/op 12.5 MB/s 0 B/op
BenchmarkPageFault/procs=8/ws=16KiB-8 1000 1.5e+03 ns/op 12.75 MB/s 0 B/op
# skip BenchmarkKVMClock: no kvm-clock in this guest (clocksource=tsc)
`

// streamSealForTest appends an end marker with the right count (of lines
// starting with "Benchmark") and sha256 to body.
func streamSealForTest(body string) string {
	n := 0
	for _, l := range strings.SplitAfter(body, "\n") {
		if strings.HasPrefix(l, "Benchmark") {
			n++
		}
	}
	return streamSealCountForTest(body, n)
}

// streamSealCountForTest appends an end marker with the given count.
func streamSealCountForTest(body string, count int) string {
	return body + fmt.Sprintf("# kharness-end count=%d sha256=%x\n", count, sha256.Sum256([]byte(body)))
}

func TestParseStreamGood(t *testing.T) {
	in := streamSealForTest(streamTestBody)
	s, err := stream.Parse(strings.NewReader(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	wantConfig := []stream.KV{
		{"goos", "linux"},
		{"goarch", "amd64"},
		{"kernel-release", "6.1.0-56-cloud-amd64"},
		{"kernel-cmdline", "console=ttyS0 pti=on kharness.count=5"},
		{"cpu-model", "QEMU Virtual CPU version 2.5+"},
		{"clocksource", "tsc"},
	}
	if !reflect.DeepEqual(s.Config, wantConfig) {
		t.Errorf("Config = %q, want %q", s.Config, wantConfig)
	}
	wantResults := []stream.Result{
		{"NullSyscall/call=getppid", 43000, []stream.Value{{462.31, "ns/op"}}},
		{"NullSyscall/call=getppid", 43000, []stream.Value{{460.9, "ns/op"}}},
		{"PageFault/procs=8/ws=16KiB-8", 1000, []stream.Value{{1523, "ns/op"}, {12.5, "MB/s"}, {0, "B/op"}}},
		{"PageFault/procs=8/ws=16KiB-8", 1000, []stream.Value{{1500, "ns/op"}, {12.75, "MB/s"}, {0, "B/op"}}},
	}
	if !reflect.DeepEqual(s.Results, wantResults) {
		t.Errorf("Results = %v, want %v", s.Results, wantResults)
	}
	wantSkips := []stream.Skip{{"KVMClock", "no kvm-clock in this guest (clocksource=tsc)"}}
	if !reflect.DeepEqual(s.Skips, wantSkips) {
		t.Errorf("Skips = %q, want %q", s.Skips, wantSkips)
	}
	wantComments := []string{
		"calibrate BenchmarkNullSyscall/call=getppid iters=43000 warmup=1000 target=100ms",
		"calibrate BenchmarkPageFault/procs=8/ws=16KiB iters=1000 warmup=100 target=100ms",
		"skip BenchmarkKVMClock: no kvm-clock in this guest (clocksource=tsc)",
	}
	if !reflect.DeepEqual(s.Comments, wantComments) {
		t.Errorf("Comments = %q, want %q", s.Comments, wantComments)
	}
	if s.Count != 4 {
		t.Errorf("Count = %d, want 4", s.Count)
	}
	if string(s.Raw) != streamTestBody {
		t.Errorf("Raw = %q, want %q", s.Raw, streamTestBody)
	}
}

func TestParseStreamMinimal(t *testing.T) {
	s, err := stream.Parse(strings.NewReader(streamSealForTest("kharness-stream: 1\n")), 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Count != 0 || len(s.Results) != 0 || len(s.Config) != 0 || string(s.Raw) != "kharness-stream: 1\n" {
		t.Errorf("Parse(minimal) = %+v", s)
	}
}

func TestParseStreamEmptyConfigValue(t *testing.T) {
	in := streamSealForTest("kharness-stream: 1\ngoos: linux\ncpu-model: \nclocksource:\nBenchmarkX 1 2 ns/op\n")
	s, err := stream.Parse(strings.NewReader(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []stream.KV{{"goos", "linux"}, {"cpu-model", ""}, {"clocksource", ""}}
	if !reflect.DeepEqual(s.Config, want) {
		t.Errorf("Config = %q, want %q", s.Config, want)
	}
	var buf bytes.Buffer
	if err := s.WriteBench(&buf, []stream.KV{{"accel", "kvm"}, {"qemu-version", ""}}); err != nil {
		t.Fatal(err)
	}
	if want := "accel: kvm\ngoos: linux\n\nBenchmarkX 1 2 ns/op\n"; buf.String() != want {
		t.Errorf("WriteBench wrote %q, want %q", buf.String(), want)
	}
	// The guest still may not set a host key, even to nothing.
	if err := s.WriteBench(&buf, []stream.KV{{"clocksource", "tsc"}}); err == nil {
		t.Error("WriteBench let the guest's empty clocksource override the host's")
	}
}

func TestParseStreamLongestLine(t *testing.T) {
	line := "# " + strings.Repeat("x", stream.MaxStreamLine-2)
	if _, err := stream.Parse(strings.NewReader(streamSealForTest("kharness-stream: 1\n"+line+"\n")), 0); err != nil {
		t.Errorf("line of %d bytes: %v", len(line), err)
	}
}

func TestParseStreamExactLimit(t *testing.T) {
	in := streamSealForTest(streamTestBody)
	if _, err := stream.Parse(strings.NewReader(in), int64(len(in))); err != nil {
		t.Errorf("stream of exactly limit bytes: %v", err)
	}
	_, err := stream.Parse(strings.NewReader(in), int64(len(in)-1))
	var g *stream.GarbledError
	if !errors.As(err, &g) || !strings.Contains(g.Reason, "exceeds the limit") || g.Line != 16 {
		t.Errorf("stream of limit+1 bytes: got %v, want garbled flood at line 16", err)
	}
}

func TestParseStreamErrors(t *testing.T) {
	const hdr = "kharness-stream: 1\ngoos: linux\n" // lines 1-2
	good := streamSealForTest(streamTestBody)       // end marker on line 16
	seal := streamSealForTest
	tests := []struct {
		name   string
		in     string
		limit  int64
		want   error
		line   int
		reason string // substring of GarbledError.Reason or StreamError.Detail
	}{
		{"empty", "", 0, stream.ErrNoEndMarker, 1, "empty stream"},
		{"truncated", streamTestBody, 0, stream.ErrNoEndMarker, 16, "after 15 complete lines"},
		{"truncated mid line", streamTestBody + "BenchmarkX 10 1", 0, stream.ErrNoEndMarker, 16, "inside a line"},
		{"header only", "kharness-stream: 1\n", 0, stream.ErrNoEndMarker, 2, "after 1 complete lines"},
		{"end marker without newline", strings.TrimSuffix(good, "\n"), 0, stream.ErrNoEndMarker, 16, "not terminated"},
		{"count mismatch", streamSealCountForTest(streamTestBody, 3), 0, stream.ErrCountMismatch, 16, "count=3, stream has 4"},
		{"count mismatch zero", streamSealCountForTest(streamTestBody, 0), 0, stream.ErrCountMismatch, 16, "count=0"},
		{"checksum mismatch", strings.Replace(good, "462.31", "462.32", 1), 0, stream.ErrChecksum, 16, "sha256"},
		{"checksum lost line", strings.Replace(good, "goarch: amd64\n", "", 1), 0, stream.ErrChecksum, 15, "sha256"},
		{"garbage after end", good + "BenchmarkX 1 1 ns/op\n", 0, stream.ErrGarbled, 17, "after the end marker"},
		{"newline after end", good + "\n", 0, stream.ErrGarbled, 17, "after the end marker"},
		{"byte after end", good + "x", 0, stream.ErrGarbled, 17, "after the end marker"},
		{"number after end", good + "5", 0, stream.ErrGarbled, 17, "after the end marker"},
		{"duplicate end marker", good + good[strings.LastIndex(good[:len(good)-1], "\n")+1:], 0, stream.ErrGarbled, 17, "duplicate end marker"},
		{"garbage after bad checksum", strings.Replace(good, "462.31", "462.32", 1) + "junk\n", 0, stream.ErrGarbled, 17, "after the end marker"},
		{"unsupported version", seal("kharness-stream: 2\ngoos: linux\n"), 0, stream.ErrGarbled, 1, "unsupported stream version"},
		{"missing header", seal("goos: linux\n"), 0, stream.ErrGarbled, 1, "not the stream header"},
		{"header with trailing space", seal("kharness-stream: 1 \n"), 0, stream.ErrGarbled, 1, "unsupported stream version"},
		{"end marker first", seal(""), 0, stream.ErrGarbled, 1, "not the stream header"},
		{"repeated header", seal(hdr + "kharness-stream: 1\n"), 0, stream.ErrGarbled, 3, "repeated stream header"},
		{"missing units", seal(hdr + "BenchmarkX 100 3.5\n"), 0, stream.ErrGarbled, 3, "missing units"},
		{"missing values", seal(hdr + "BenchmarkX 100\n"), 0, stream.ErrGarbled, 3, "missing measurements"},
		{"name only", seal(hdr + "BenchmarkX\n"), 0, stream.ErrGarbled, 3, "without iteration count"},
		{"bad iters", seal(hdr + "BenchmarkX abc 3 ns/op\n"), 0, stream.ErrGarbled, 3, "iteration count"},
		{"bad value", seal(hdr + "BenchmarkX 100 3..5 ns/op\n"), 0, stream.ErrGarbled, 3, "parsing measurement"},
		{"NaN", seal(hdr + "BenchmarkX 100 NaN ns/op\n"), 0, stream.ErrGarbled, 3, "not a finite non-negative"},
		{"Inf", seal(hdr + "BenchmarkX 100 1 ns/op +Inf B/op\n"), 0, stream.ErrGarbled, 3, "not a finite non-negative"},
		{"negative", seal(hdr + "BenchmarkX 100 -1.5 ns/op\n"), 0, stream.ErrGarbled, 3, "not a finite non-negative"},
		{"negative zero", seal(hdr + "BenchmarkX 100 -0 ns/op\n"), 0, stream.ErrGarbled, 3, "not a finite non-negative"},
		{"zero iters", seal(hdr + "BenchmarkX 0 1 ns/op\n"), 0, stream.ErrGarbled, 3, "not positive"},
		{"negative iters", seal(hdr + "BenchmarkX -5 1 ns/op\n"), 0, stream.ErrGarbled, 3, "not positive"},
		{"dotdot name", seal(hdr + "Benchmark../../etc 1 1 ns/op\n"), 0, stream.ErrGarbled, 3, "does not start with a letter"},
		{"dotdot in sub name", seal(hdr + "BenchmarkFoo/../../etc/passwd 1 1 ns/op\n"), 0, stream.ErrGarbled, 3, `contains ".."`},
		{"script name", seal(hdr + "Benchmark<script> 1 1 ns/op\n"), 0, stream.ErrGarbled, 3, "does not start with a letter"},
		{"script in name", seal(hdr + "BenchmarkX<script>alert(1)</script> 1 1 ns/op\n"), 0, stream.ErrGarbled, 3, "disallowed byte '<'"},
		{"empty name", seal(hdr + "Benchmark 1 1 ns/op\n"), 0, stream.ErrGarbled, 3, "empty benchmark name"},
		{"bad unit", seal(hdr + "BenchmarkX 1 1 ns/<b>\n"), 0, stream.ErrGarbled, 3, "unit"},
		{"long unit", seal(hdr + "BenchmarkX 1 1 " + strings.Repeat("u", 33) + "\n"), 0, stream.ErrGarbled, 3, "unit"},
		{"overlong line", seal(hdr + "# " + strings.Repeat("x", stream.MaxStreamLine) + "\n"), 0, stream.ErrGarbled, 3, "longer than 4096"},
		{"overlong unterminated", hdr + strings.Repeat("x", 10000), 0, stream.ErrGarbled, 3, "longer than 4096"},
		{"over limit", good, 100, stream.ErrGarbled, 5, "exceeds the limit of 100 bytes"},
		{"flood", hdr + strings.Repeat("# flood\n", 1000), 1000, stream.ErrGarbled, 124, "exceeds the limit"},
		{"CRLF", strings.ReplaceAll(good, "\n", "\r\n"), 0, stream.ErrGarbled, 1, "CRLF"},
		{"CRLF later", seal(hdr + "goarch: amd64\r\n"), 0, stream.ErrGarbled, 3, "CRLF"},
		{"bare CR", seal(hdr + "# a\rb\n"), 0, stream.ErrGarbled, 3, `control character '\r'`},
		{"escape", seal(hdr + "# \x1b[2J\n"), 0, stream.ErrGarbled, 3, `control character '\x1b'`},
		{"NUL", seal(hdr + "BenchmarkX 1 1 ns/op\x00\n"), 0, stream.ErrGarbled, 3, `control character '\x00'`},
		{"invalid UTF-8", seal(hdr + "# \xff\xfe\n"), 0, stream.ErrGarbled, 3, "invalid UTF-8 at column 3"},
		{"non-ASCII", seal(hdr + "cpu-model: Ryzen™\n"), 0, stream.ErrGarbled, 3, "non-ASCII character U+2122"},
		{"bad end marker hex", streamTestBody + "# kharness-end count=4 sha256=" + strings.Repeat("A", 64) + "\n", 0, stream.ErrGarbled, 16, "bad end marker"},
		{"bad end marker short sha", streamTestBody + "# kharness-end count=4 sha256=abc\n", 0, stream.ErrGarbled, 16, "bad end marker"},
		{"bad end marker count", streamTestBody + fmt.Sprintf("# kharness-end count=04 sha256=%x\n", sha256.Sum256([]byte(streamTestBody))), 0, stream.ErrGarbled, 16, "bad end marker"},
		{"bad end marker no count", streamTestBody + fmt.Sprintf("# kharness-end sha256=%x\n", sha256.Sum256([]byte(streamTestBody))), 0, stream.ErrGarbled, 16, "bad end marker"},
		{"bad end marker extra", strings.TrimSuffix(good, "\n") + " x\n", 0, stream.ErrGarbled, 16, "bad end marker"},
		{"config after benchmark", seal(hdr + "BenchmarkX 1 1 ns/op\ngoarch: amd64\n"), 0, stream.ErrGarbled, 4, "after the first Benchmark line"},
		{"duplicate config key", seal(hdr + "goos: plan9\n"), 0, stream.ErrGarbled, 3, `duplicate config key "goos"`},
		{"config without space", seal(hdr + "goarch:amd64\n"), 0, stream.ErrGarbled, 3, "no space after"},
		{"config value with tab", seal(hdr + "goarch: amd\t64\n"), 0, stream.ErrGarbled, 3, "non-printable"},
		{"long config value", seal(hdr + "goarch: " + strings.Repeat("v", 1025) + "\n"), 0, stream.ErrGarbled, 3, "more than 1024"},
		{"config key with space", seal(hdr + "go arch: amd64\n"), 0, stream.ErrGarbled, 3, "disallowed byte ' '"},
		{"upper-case config key", seal(hdr + "Goarch: amd64\n"), 0, stream.ErrGarbled, 3, "unrecognized line"},
		{"unit metadata", seal(hdr + "Unit ns/op better=lower\n"), 0, stream.ErrGarbled, 3, "unrecognized line"},
		{"unrecognized line", seal(hdr + "hello world\n"), 0, stream.ErrGarbled, 3, "unrecognized line"},
		{"indented line", seal(hdr + " BenchmarkX 1 1 ns/op\n"), 0, stream.ErrGarbled, 3, "unrecognized line"},
		{"comment without space", seal(hdr + "#comment\n"), 0, stream.ErrGarbled, 3, `does not start with "# "`},
		{"skip without reason", seal(hdr + "# skip BenchmarkFoo:\n"), 0, stream.ErrGarbled, 3, "malformed skip line"},
		{"skip without colon", seal(hdr + "# skip BenchmarkFoo reason\n"), 0, stream.ErrGarbled, 3, "malformed skip line"},
		{"skip without Benchmark", seal(hdr + "# skip Foo: reason\n"), 0, stream.ErrGarbled, 3, "malformed skip line"},
		{"skip bad name", seal(hdr + "# skip Benchmark../x: reason\n"), 0, stream.ErrGarbled, 3, "skip: benchmark name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := stream.Parse(strings.NewReader(tt.in), tt.limit)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", s)
			}
			if s != nil {
				t.Errorf("Parse returned a Stream with error %v", err)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want errors.Is %v", err, tt.want)
			}
			for _, other := range []error{stream.ErrGarbled, stream.ErrNoEndMarker, stream.ErrCountMismatch, stream.ErrChecksum} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("error %v also matches %v", err, other)
				}
			}
			var line int
			var reason string
			var g *stream.GarbledError
			var se *stream.StreamError
			switch {
			case errors.As(err, &g):
				line, reason = g.Line, g.Reason
				if len(g.Text) > 64+3 {
					t.Errorf("Text is %d bytes, not truncated", len(g.Text))
				}
			case errors.As(err, &se):
				line, reason = se.Line, se.Detail
			default:
				t.Fatalf("error %v (%T) is neither *GarbledError nor *StreamError", err, err)
			}
			if line != tt.line {
				t.Errorf("error %v: line %d, want %d", err, line, tt.line)
			}
			if !strings.Contains(reason, tt.reason) {
				t.Errorf("error %v: reason %q does not contain %q", err, reason, tt.reason)
			}
			if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("line %d:", tt.line)) {
				t.Errorf("error message %q lacks the line number", msg)
			}
		})
	}
}

// streamTestExtra is the host-side config used with WriteBench.
var streamTestExtra = []stream.KV{
	{"kernel-package", "linux-image-6.1.0-56-cloud-amd64_6.1.135-1_amd64.deb"},
	{"boot-config", "pti=on"},
	{"accel", "kvm"},
}

func TestWriteBenchRoundTrip(t *testing.T) {
	s, err := stream.Parse(strings.NewReader(streamSealForTest(streamTestBody)), 0)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.WriteBench(&buf, streamTestExtra); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "kharness-") {
		t.Errorf("WriteBench output contains stream framing:\n%s", buf.String())
	}
	wantConfig := append(append([]stream.KV(nil), streamTestExtra...), s.Config...)
	got := streamReadBenchForTest(t, buf.Bytes())
	if len(got) != len(s.Results) {
		t.Fatalf("benchfmt read %d results, want %d", len(got), len(s.Results))
	}
	for i, r := range got {
		if !reflect.DeepEqual(r.res, s.Results[i]) {
			t.Errorf("result %d: benchfmt read %v, want %v", i, r.res, s.Results[i])
		}
		if !reflect.DeepEqual(r.config, wantConfig) {
			t.Errorf("result %d: config %q, want %q", i, r.config, wantConfig)
		}
	}

	// The same results as benchfmt reading the raw stream.
	raw := streamReadBenchForTest(t, s.Raw)
	for i := range raw {
		if !reflect.DeepEqual(raw[i].res, got[i].res) {
			t.Errorf("result %d: raw stream gives %v, WriteBench output %v", i, raw[i].res, got[i].res)
		}
	}
}

type streamBenchForTest struct {
	res    stream.Result
	config []stream.KV
}

// streamReadBenchForTest reads benchfmt data, failing on syntax errors. It
// reports values in their original units, as Parse does.
func streamReadBenchForTest(t testing.TB, data []byte) []streamBenchForTest {
	t.Helper()
	var out []streamBenchForTest
	r := benchfmt.NewReader(bytes.NewReader(data), "test")
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Fatalf("benchfmt: %v\n%s", rec, data)
		case *benchfmt.Result:
			b := streamBenchForTest{res: stream.Result{Name: string(rec.Name), Iters: rec.Iters}}
			for _, v := range rec.Values {
				if v.OrigUnit != "" {
					b.res.Values = append(b.res.Values, stream.Value{Value: v.OrigValue, Unit: v.OrigUnit})
				} else {
					b.res.Values = append(b.res.Values, stream.Value{Value: v.Value, Unit: v.Unit})
				}
			}
			for _, c := range rec.Config {
				if c.File {
					b.config = append(b.config, stream.KV{Key: c.Key, Value: string(c.Value)})
				}
			}
			out = append(out, b)
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWriteBenchRejects(t *testing.T) {
	s, err := stream.Parse(strings.NewReader(streamSealForTest(streamTestBody)), 0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		edit  func(s *stream.Stream)
		extra []stream.KV
		want  string
	}{
		{"guest overrides host key", nil, []stream.KV{{"goos", "plan9"}}, `"goos" already set by extra config 1`},
		{"repeated extra key", nil, []stream.KV{{"accel", "kvm"}, {"accel", "tcg"}}, `"accel" already set`},
		{"extra value with newline", nil, []stream.KV{{"accel", "kvm\nBenchmarkFake 1 1 ns/op"}}, "non-printable"},
		{"bad extra key", nil, []stream.KV{{"Accel", "kvm"}}, "lower-case"},
		{"reserved key", nil, []stream.KV{{"kharness-stream", "1"}}, "reserved"},
		{"bad name", func(s *stream.Stream) { s.Results[0].Name = "../x" }, nil, "result 1"},
		{"bad unit", func(s *stream.Stream) { s.Results[1].Values[0].Unit = "ns op" }, nil, "result 2"},
		{"NaN", func(s *stream.Stream) { s.Results[1].Values[0].Value = nan() }, nil, "not a finite"},
		{"comment with newline", func(s *stream.Stream) { s.Comments[0] = "x\nBenchmarkFake 1 1 ns/op" }, nil, "comment 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := streamCloneForTest(s)
			if tt.edit != nil {
				tt.edit(c)
			}
			var buf bytes.Buffer
			err := c.WriteBench(&buf, tt.extra)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("WriteBench error %v, want one containing %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("WriteBench wrote %d bytes despite the error", buf.Len())
			}
		})
	}
}

func nan() float64 {
	var zero float64
	return zero / zero
}

func streamCloneForTest(s *stream.Stream) *stream.Stream {
	c := *s
	c.Config = append([]stream.KV(nil), s.Config...)
	c.Comments = append([]string(nil), s.Comments...)
	c.Results = nil
	for _, r := range s.Results {
		r.Values = append([]stream.Value(nil), r.Values...)
		c.Results = append(c.Results, r)
	}
	return &c
}

// TestStreamGolden checks testdata/stream/good.txt and the benchfmt file
// WriteBench makes of it. Set KHARNESS_UPDATE_GOLDEN=1 to rewrite both.
func TestStreamGolden(t *testing.T) {
	dir := filepath.Join("testdata", "stream")
	if os.Getenv("KHARNESS_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(filepath.Join(dir, "good.txt"), []byte(streamSealForTest(streamTestBody)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in, err := os.ReadFile(filepath.Join(dir, "good.txt"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := stream.Parse(bytes.NewReader(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.WriteBench(&buf, streamTestExtra); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join(dir, "good.bench")
	if os.Getenv("KHARNESS_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("WriteBench output differs from %s:\n%s\nwant:\n%s", golden, buf.Bytes(), want)
	}

	// Every bad-*.txt golden stream is garbled at the line its name gives
	// after "line".
	bad, _ := filepath.Glob(filepath.Join(dir, "bad-*.txt"))
	if len(bad) == 0 {
		t.Errorf("no bad-*.txt files in %s", dir)
	}
	for _, f := range bad {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var wantLine int
		if _, err := fmt.Sscanf(filepath.Base(f)[strings.LastIndex(filepath.Base(f), "line"):], "line%d.txt", &wantLine); err != nil {
			t.Fatalf("%s: name does not end in lineN.txt: %v", f, err)
		}
		_, err = stream.Parse(bytes.NewReader(data), 0)
		var g *stream.GarbledError
		if !errors.As(err, &g) || g.Line != wantLine {
			t.Errorf("%s: error %v, want garbled at line %d", f, err, wantLine)
		}
	}
}

// FuzzParseStream checks that Parse never panics, that its errors
// are of the documented kinds, and that whatever it accepts is valid and
// survives WriteBench and benchfmt. Each input is parsed as is and also
// with a correct end marker appended, so that the fuzzer reaches the
// accepting paths.
func FuzzParseStream(f *testing.F) {
	f.Add([]byte(streamSealForTest(streamTestBody)))
	f.Add([]byte(streamTestBody))
	f.Add([]byte("kharness-stream: 1\nBenchmarkA/b=c-8 1 2 ns/op 3 MB/s\n# skip BenchmarkB: why\n"))
	f.Add([]byte("kharness-stream: 1\nkey: value\n\n# comment\nBenchmarkX 5 0x1p-2 ns/op\n"))
	f.Add([]byte("kharness-stream: 1\nBenchmark../x 1 1 ns/op\n"))
	f.Add([]byte("kharness-stream: 1\r\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		streamFuzzCheck(t, data)
		body := data
		if len(body) > 0 && body[len(body)-1] != '\n' {
			body = append(body[:len(body):len(body)], '\n')
		}
		streamFuzzCheck(t, []byte(streamSealForTest(string(body))))
	})
}

func streamFuzzCheck(t *testing.T, data []byte) {
	s, err := stream.Parse(bytes.NewReader(data), 1<<16)
	if err != nil {
		if s != nil {
			t.Fatalf("Stream with error %v", err)
		}
		var g *stream.GarbledError
		var se *stream.StreamError
		switch {
		case errors.As(err, &g):
			if g.Line < 1 || len(g.Text) > 67 {
				t.Fatalf("bad GarbledError %#v", g)
			}
		case errors.As(err, &se):
			if se.Line < 1 || !(errors.Is(err, stream.ErrNoEndMarker) || errors.Is(err, stream.ErrChecksum) || errors.Is(err, stream.ErrCountMismatch)) {
				t.Fatalf("bad StreamError %#v", se)
			}
		default:
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		return
	}
	if s.Count != len(s.Results) {
		t.Fatalf("Count %d, %d results", s.Count, len(s.Results))
	}
	for _, r := range s.Results {
		if err := stream.ValidName(r.Name); err != nil {
			t.Fatalf("accepted bad name: %v", err)
		}
		for _, v := range r.Values {
			if err := stream.ValidUnit(v.Unit); err != nil {
				t.Fatalf("accepted bad unit: %v", err)
			}
		}
	}
	for _, sk := range s.Skips {
		if err := stream.ValidName(sk.Name); err != nil {
			t.Fatalf("accepted bad skip name: %v", err)
		}
	}
	for _, kv := range s.Config {
		if stream.ValidConfigKey(kv.Key) != nil || stream.ValidConfigValue(kv.Value) != nil {
			t.Fatalf("accepted bad config %q", kv)
		}
	}
	var buf bytes.Buffer
	if err := s.WriteBench(&buf, []stream.KV{{"accel", "tcg"}}); err != nil {
		if strings.Contains(err.Error(), `"accel" already set`) {
			return
		}
		t.Fatalf("WriteBench: %v", err)
	}
	got := streamReadBenchForTest(t, buf.Bytes())
	if len(got) != len(s.Results) {
		t.Fatalf("benchfmt read %d results, want %d\n%s", len(got), len(s.Results), buf.Bytes())
	}
	for i := range got {
		if !reflect.DeepEqual(got[i].res, s.Results[i]) {
			t.Fatalf("result %d: benchfmt read %v, want %v", i, got[i].res, s.Results[i])
		}
	}
}
