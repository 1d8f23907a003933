//go:build linux

package guest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeMachine records what guest mode does instead of doing it.
type fakeMachine struct {
	cmdline  string
	portErr  error
	port     bytes.Buffer
	calls    []string
	crashErr error
}

func (m *fakeMachine) Prepare() error           { m.calls = append(m.calls, "prepare"); return nil }
func (m *fakeMachine) Cmdline() (string, error) { return m.cmdline, nil }
func (m *fakeMachine) OpenPort() (io.Writer, error) {
	if m.portErr != nil {
		return nil, m.portErr
	}
	return &m.port, nil
}
func (m *fakeMachine) Drain(io.Writer)       { m.calls = append(m.calls, "drain") }
func (m *fakeMachine) PowerOff()             { m.calls = append(m.calls, "poweroff") }
func (m *fakeMachine) Hang()                 { m.calls = append(m.calls, "hang") }
func (m *fakeMachine) Flood()                { m.calls = append(m.calls, "flood") }
func (m *fakeMachine) Crash() error          { m.calls = append(m.calls, "crash"); return m.crashErr }
func (m *fakeMachine) Shell() error          { m.calls = append(m.calls, "shell"); return nil }
func (m *fakeMachine) SettleClock(io.Writer) { m.calls = append(m.calls, "settle") }

func TestRunGuestFake(t *testing.T) {
	const base = "console=ttyS0 kharness.run=getppid$ kharness.benchtime=5ms kharness.count=2 "
	for _, tc := range []struct {
		name, cmdline string
		portErr       error
		calls         string
		wantEnd       bool
		wantError     string // in a "# kharness-error:" line
		empty         bool   // nothing on the port
	}{
		{name: "bench", cmdline: base, calls: "prepare settle drain poweroff", wantEnd: true},
		{name: "probe", cmdline: base + "kharness.mode=probe", calls: "prepare drain poweroff", wantEnd: true},
		{name: "truncate", cmdline: base + "kharness.mode=truncate", calls: "prepare settle drain poweroff"},
		{name: "bad count", cmdline: base + "kharness.count=x", calls: "prepare drain poweroff", wantError: "kharness.count"},
		{name: "no port", cmdline: base, portErr: errors.New("no ttyS1"), calls: "prepare poweroff", empty: true},
		{name: "hang", cmdline: base + "kharness.mode=hang", calls: "prepare hang", empty: true},
		{name: "flood", cmdline: base + "kharness.mode=flood", calls: "prepare flood", empty: true},
		{name: "crash", cmdline: base + "kharness.mode=crash", calls: "prepare crash drain poweroff", wantError: "kernel did not panic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &fakeMachine{cmdline: tc.cmdline, portErr: tc.portErr, crashErr: errors.New("no sysrq")}
			runGuest(context.Background(), Options{Suite: testSuite(), Params: DefaultParams(), Stderr: io.Discard}, m)
			if got := strings.Join(m.calls, " "); got != tc.calls {
				t.Errorf("calls %q, want %q", got, tc.calls)
			}
			out := m.port.Bytes()
			if tc.empty {
				if len(out) != 0 {
					t.Errorf("wrote %q", out)
				}
				return
			}
			hasEnd := bytes.Contains(out, []byte("\n# kharness-end "))
			if hasEnd != tc.wantEnd {
				t.Errorf("end marker %v, want %v:\n%s", hasEnd, tc.wantEnd, out)
			}
			if tc.wantEnd {
				parseStream(t, out)
			}
			if tc.wantError != "" && !hasErrorLine(out, tc.wantError) {
				t.Errorf("want an error line with %q:\n%s", tc.wantError, out)
			}
		})
	}
}

func TestRunHost(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	p := testParams(ModeMiscount)
	if err := Run(context.Background(), Options{Suite: testSuite(), Output: path, Params: p, Stderr: io.Discard}); err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if s := parseStream(t, out); s.count != len(s.results)+1 {
		t.Errorf("miscount stream: count=%d, %d lines", s.count, len(s.results))
	}
	for _, m := range []Mode{ModeHang, ModeFlood, ModeCrash} {
		var stdout bytes.Buffer
		err := Run(context.Background(), Options{Suite: testSuite(), Params: testParams(m), Stdout: &stdout, Stderr: io.Discard})
		if err == nil || !strings.Contains(err.Error(), "-guest") || stdout.Len() != 0 {
			t.Errorf("host Run(%s) = %v, wrote %q; want an error pointing at -guest", m, err, stdout.Bytes())
		}
	}
	if err := Run(context.Background(), Options{Params: testParams(ModeBench), Stdout: io.Discard, Stderr: io.Discard}); err == nil || !strings.Contains(err.Error(), "Suite") {
		t.Errorf("Run without a suite = %v, want an error naming the Suite", err)
	}
	bad := testParams(ModeBench)
	bad.Count = 0
	if err := Run(context.Background(), Options{Suite: testSuite(), Params: bad, Stdout: io.Discard, Stderr: io.Discard}); err == nil {
		t.Error("count 0 accepted")
	}
}

func TestRunHostCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	err := Run(ctx, Options{Suite: testSuite(), Params: testParams(ModeBench), Stdout: &out, Stderr: io.Discard})
	if err == nil {
		t.Fatal("canceled run succeeded")
	}
	if bytes.Contains(out.Bytes(), []byte("# kharness-end")) || !hasErrorLine(out.Bytes(), "canceled") {
		t.Errorf("canceled stream:\n%s", out.Bytes())
	}
}

// hasErrorLine reports whether out has a "# kharness-error:" line that
// mentions what.
func hasErrorLine(out []byte, what string) bool {
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, ErrorPrefix) && strings.Contains(line, what) {
			return true
		}
	}
	return false
}
