//go:build linux

package guest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// configKeys are the keys every stream carries, in order.
var configKeys = []string{"kharness-stream", "goos", "goarch", "kernel-release", "kernel-cmdline",
	"cpu-model", "clocksource", "guest-ncpu", "guest-benchtime", "guest-count"}

// parsed is a stream checked by parseStream.
type parsed struct {
	config  map[string]string
	results []string // Benchmark lines
	skips   []string
	hasEnd  bool
	count   int    // from the end marker
	sum     string // from the end marker
	prefix  []byte // every byte before the end marker
	after   []byte // every byte after the end marker line
}

// parseStream parses out line by line as the host would, failing t on any
// format error, and checks the end marker's checksum against the bytes
// before it.
func parseStream(t *testing.T, out []byte) parsed {
	t.Helper()
	p := parsed{config: map[string]string{}}
	rest := out
	first := true
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			t.Fatalf("unterminated line %q", rest)
		}
		line := string(rest[:i])
		start := len(out) - len(rest)
		rest = rest[i+1:]
		if first && line != "kharness-stream: 1" {
			t.Fatalf("first line %q, want kharness-stream: 1", line)
		}
		first = false
		switch {
		case strings.HasPrefix(line, "# kharness-end "):
			p.hasEnd = true
			p.prefix = out[:start]
			p.after = rest
			if _, err := fmt.Sscanf(line, "# kharness-end count=%d sha256=%s", &p.count, &p.sum); err != nil {
				t.Fatalf("end marker %q: %v", line, err)
			}
			want := sha256.Sum256(p.prefix)
			if p.sum != hex.EncodeToString(want[:]) {
				t.Errorf("end marker sha256=%s, bytes before it hash to %x", p.sum, want)
			}
			return p
		case strings.HasPrefix(line, "Benchmark"):
			p.results = append(p.results, line)
		case strings.HasPrefix(line, "# skip "):
			p.skips = append(p.skips, line)
		case strings.HasPrefix(line, "#"):
		default:
			k, v, ok := strings.Cut(line, ": ")
			if !ok || k == "" || strings.ContainsAny(k, " \t") || strings.ToLower(k[:1]) != k[:1] {
				t.Fatalf("bad config line %q", line)
			}
			if len(v) > MaxConfigValue {
				t.Errorf("config %s: value of %d bytes", k, len(v))
			}
			for _, c := range []byte(v) {
				if c < 0x20 || c > 0x7e {
					t.Errorf("config %s: byte %#x", k, c)
				}
			}
			p.config[k] = v
		}
	}
	return p
}

// checkHeader checks the configuration lines of p.
func checkHeader(t *testing.T, p parsed, params Params) {
	t.Helper()
	for _, k := range configKeys {
		if _, ok := p.config[k]; !ok {
			t.Errorf("config key %s missing", k)
		}
	}
	if got := p.config["guest-benchtime"]; got != params.Benchtime.String() {
		t.Errorf("guest-benchtime %q, want %v", got, params.Benchtime)
	}
	if got := p.config["guest-count"]; got != strconv.Itoa(params.Count) {
		t.Errorf("guest-count %q, want %d", got, params.Count)
	}
}

// checkResults checks that each Benchmark line has the benchfmt shape
// "Benchmark<Name> <iters> <value> ns/op" with plausible numbers, and returns
// how many there are.
func checkResults(t *testing.T, lines []string) int {
	t.Helper()
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) != 6 || f[3] != "ns/op" || f[5] != RefUnit || len(f[0]) <= len("Benchmark") {
			t.Errorf("bad Benchmark line %q, want NAME ITERS NS ns/op REF %s", line, RefUnit)
			continue
		}
		// The host reference is a fixed loop: some nanoseconds an
		// iteration, natively or under TCG, never zero.
		if ref, err := strconv.ParseFloat(f[4], 64); err != nil || !(ref > 0.05 && ref < 100_000) {
			t.Errorf("%q: %q %s, want in (0.05, 1e5)", line, f[4], RefUnit)
		}
		iters, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil || iters == 0 {
			t.Errorf("%q: iters %q", line, f[1])
		}
		ns, err := strconv.ParseFloat(f[2], 64)
		if err != nil || !(ns > 0 && ns < 1_000_000) {
			t.Errorf("%q: %q ns/op, want in (0, 1ms)", line, f[2])
		}
	}
	return len(lines)
}

func testParams(mode Mode) Params {
	return Params{Run: "getppid$", Benchtime: 20 * time.Millisecond, Count: 3, Mode: mode}
}

func writeStream(t *testing.T, p Params) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteStream(context.Background(), &buf, testSuite(), p, SystemConfig(testSuite(), p), io.Discard); err != nil {
		t.Fatalf("WriteStream(%s): %v", p.Mode, err)
	}
	return buf.Bytes()
}

func TestStreamBench(t *testing.T) {
	params := testParams(ModeBench)
	out := writeStream(t, params)
	p := parseStream(t, out)
	checkHeader(t, p, params)
	if !p.hasEnd {
		t.Fatal("no end marker")
	}
	if p.count != len(p.results) {
		t.Errorf("end marker count=%d, %d Benchmark lines", p.count, len(p.results))
	}
	if want := params.Count; len(p.results) != want {
		t.Errorf("%d Benchmark lines, want %d", len(p.results), want)
	}
	if len(p.after) != 0 {
		t.Errorf("%d bytes after the end marker", len(p.after))
	}
	if !bytes.Contains(out, []byte("# calibrate BenchmarkNullSyscall/call=getppid iters=")) {
		t.Error("no calibrate comment")
	}
	checkResults(t, p.results)
	t.Logf("\n%s", out)
}

func TestStreamModes(t *testing.T) {
	t.Run("probe", func(t *testing.T) {
		params := testParams(ModeProbe)
		out := writeStream(t, params)
		p := parseStream(t, out)
		checkHeader(t, p, params)
		if !p.hasEnd || p.count != 0 || len(p.results) != 0 || bytes.Contains(out, []byte("calibrate")) {
			t.Errorf("probe stream:\n%s", out)
		}
	})
	t.Run("truncate", func(t *testing.T) {
		params := testParams(ModeTruncate)
		out := writeStream(t, params)
		p := parseStream(t, out)
		checkHeader(t, p, params)
		if p.hasEnd || len(p.results) != 1 {
			t.Errorf("truncate: end marker %v, %d Benchmark lines:\n%s", p.hasEnd, len(p.results), out)
		}
	})
	t.Run("miscount", func(t *testing.T) {
		params := testParams(ModeMiscount)
		out := writeStream(t, params)
		p := parseStream(t, out)
		checkHeader(t, p, params)
		if !p.hasEnd || len(p.results) != params.Count || p.count != len(p.results)+1 {
			t.Errorf("miscount: count=%d, %d Benchmark lines:\n%s", p.count, len(p.results), out)
		}
	})
	t.Run("garble", func(t *testing.T) {
		params := testParams(ModeGarble)
		out := writeStream(t, params)
		p := parseStream(t, out)
		checkHeader(t, p, params)
		if !p.hasEnd || p.count != len(p.results) || len(p.results) != params.Count {
			t.Errorf("garble: count=%d, %d Benchmark lines", p.count, len(p.results))
		}
		if len(p.after) != GarbageSize {
			t.Errorf("garble: %d bytes after the end marker, want %d", len(p.after), GarbageSize)
		}
	})
	for _, m := range []Mode{ModeHang, ModeFlood, ModeCrash} {
		var buf bytes.Buffer
		p := testParams(m)
		if err := WriteStream(context.Background(), &buf, testSuite(), p, SystemConfig(testSuite(), p), io.Discard); err == nil || buf.Len() != 0 {
			t.Errorf("WriteStream(%s) = %v, wrote %d bytes; want an error and nothing", m, err, buf.Len())
		}
	}
}

func TestStreamRunFilter(t *testing.T) {
	params := testParams(ModeBench)
	params.Run = "NoSuchBenchmark"
	p := parseStream(t, writeStream(t, params))
	if !p.hasEnd || p.count != 0 || len(p.results) != 0 {
		t.Errorf("filtered stream: count=%d, %d lines", p.count, len(p.results))
	}
}

func TestStreamWriter(t *testing.T) {
	var buf bytes.Buffer
	s := NewStreamWriter(&buf)
	s.Config("kharness-stream", "1")
	s.Config("kernel-cmdline", "a\tb\xffc\n  ")
	s.Result("X/y=1", 1000, 460.25)
	s.Skip("Z", "no vsyscall page")
	want := "kharness-stream: 1\nkernel-cmdline: a?b?c?\nBenchmarkX/y=1 1000 460.25 ns/op\n# skip BenchmarkZ: no vsyscall page\n"
	if buf.String() != want {
		t.Fatalf("got %q\nwant %q", buf.String(), want)
	}
	sum := sha256.Sum256([]byte(want))
	if err := s.End(); err != nil {
		t.Fatal(err)
	}
	end := fmt.Sprintf("# kharness-end count=1 sha256=%x\n", sum)
	if got := strings.TrimPrefix(buf.String(), want); got != end {
		t.Errorf("end marker %q, want %q", got, end)
	}
}

// failWriter fails after limit bytes.
type failWriter struct{ limit int }

func (w *failWriter) Write(b []byte) (int, error) {
	if len(b) > w.limit {
		n := w.limit
		w.limit = 0
		return n, io.ErrClosedPipe
	}
	w.limit -= len(b)
	return len(b), nil
}

func TestStreamWriterError(t *testing.T) {
	s := NewStreamWriter(&failWriter{limit: 25})
	if err := s.Config("kharness-stream", "1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Config("goos", "linux"); err == nil {
		t.Fatal("no error from a failing writer")
	}
	if err := s.End(); err == nil {
		t.Fatal("End after a write error succeeded")
	}
}

func TestSanitizeValue(t *testing.T) {
	long := strings.Repeat("x", 600)
	for _, tc := range []struct{ in, want string }{
		{"plain value", "plain value"},
		{"tab\there", "tab?here"},
		{"é", "??"},
		{long, long[:MaxConfigValue]},
	} {
		if got := SanitizeValue(tc.in); got != tc.want {
			t.Errorf("SanitizeValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestSystemConfigCountSched: a boot that counts says in its header under
// which policy its switching benchmarks counted; one that does not count
// has no such line.
func TestSystemConfigCountSched(t *testing.T) {
	find := func(p Params) (string, bool) {
		for _, c := range SystemConfig(testSuite(), p) {
			if c.Key == CountSchedKey {
				return c.Value, true
			}
		}
		return "", false
	}
	p := testParams(ModeBench)
	p.Run = "NullSyscall/call=getppid$"
	if v, ok := find(p); ok {
		t.Errorf("no count phase, yet %s: %q", CountSchedKey, v)
	}
	p.Insns = true
	for _, s := range []CountSched{"", CountSchedFIFO, CountSchedBatch, CountSchedDefault} {
		p.CountSched = s
		want := s
		if s == "" {
			want = DefaultCountSched
		}
		if v, ok := find(p); !ok || !strings.HasPrefix(v, string(want)+":") {
			t.Errorf("countsched %q: %s %q (present %v), want it to start %q", s, CountSchedKey, v, ok, want+":")
		}
	}
}
