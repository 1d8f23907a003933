//go:build linux

package guest

import (
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

// testSuite is the suite the machinery's tests run: the null system call
// as a Go loop of raw getppid calls, the operation of kguest's first
// benchmark without its assembly (guest/bench holds the real suite, which
// the machinery does not import).
func testSuite() Suite {
	return Suite{Benchmarks: []Benchmark{{Name: "NullSyscall/call=getppid", Loop: getppidGo}}}
}

// getppidGo calls getppid n times.
func getppidGo(n uint64) {
	for ; n > 0; n-- {
		unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
	}
}

// TestSuiteHeader checks that a suite's header lines are asked for with
// the benchmarks the run selects: a probe matches every name with its
// "." but runs none, and a benchmark not selected costs nothing.
func TestSuiteHeader(t *testing.T) {
	var asked []string
	s := Suite{
		Benchmarks: []Benchmark{{Name: "A/x=1", Loop: getppidGo}, {Name: "B/x=2", Loop: getppidGo}},
		Header: func(sel []Benchmark) []ConfigPair {
			asked = nil
			for _, b := range sel {
				asked = append(asked, b.Name)
			}
			return []ConfigPair{{"suite-line", "v"}}
		},
	}
	for _, c := range []struct {
		mode Mode
		run  string
		want []string
	}{
		{ModeBench, ".", []string{"A/x=1", "B/x=2"}},
		{ModeBench, "B/", []string{"B/x=2"}},
		{ModeBench, "NoSuch", nil},
		{ModeBench, "(", nil},
		{ModeProbe, ".", nil},
		{ModeTruncate, "A", []string{"A/x=1"}},
	} {
		p := testParams(c.mode)
		p.Run = c.run
		cfg := SystemConfig(s, p)
		if !reflect.DeepEqual(asked, c.want) {
			t.Errorf("mode %s, run %q: header asked for %q, want %q", c.mode, c.run, asked, c.want)
		}
		i := 0
		for i < len(cfg) && cfg[i].Key != "suite-line" {
			i++
		}
		if i == len(cfg) || (i+1 < len(cfg) && cfg[i+1].Key < VulnPrefix) {
			t.Errorf("mode %s, run %q: the suite's line is missing or not just before the vulnerabilities: %v", c.mode, c.run, cfg)
		}
	}
}
