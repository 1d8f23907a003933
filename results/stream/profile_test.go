package stream

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// kallsymsComments encodes table ("<hex address> <name>\n" lines) as the
// guest sends it: base64 of its gzip, in comments of at most chunk
// characters.
func kallsymsComments(t testing.TB, table string, chunk int) []string {
	t.Helper()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(table))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(z.Bytes())
	var cs []string
	for len(b64) > 0 {
		k := min(len(b64), chunk)
		cs = append(cs, KallsymsPrefix+b64[:k])
		b64 = b64[k:]
	}
	return cs
}

// profileSymbols is a small kernel: entry code, the system call's
// dispatcher and its handler, and an interrupt handler.
const profileSymbols = `ffffffff81000000 _stext
ffffffff81001000 do_syscall_64
ffffffff81001200 __x64_sys_getppid
ffffffff81001240 __task_pid_nr_ns
ffffffff81002000 asm_sysvec_apic_timer_interrupt
ffffffff81e00000 entry_SYSCALL_64
ffffffff81e00000 entry_SYSCALL_64_alias
`

// profileRaw is one null-syscall count phase of three reps, K = 100 calls
// a short stretch: per call 10 instructions of entry, 6 of dispatch, 3 of
// the handler, 2 of the pid lookup (21 in all); each stretch also runs
// 40 kernel instructions of its own (a page fault on the way in), which
// the difference cancels. The first short stretch took a timer interrupt.
func profileRaw() string {
	stretch := func(calls, extra uint64, irq bool) string {
		var b strings.Builder
		b.WriteString(fmt.Sprintf("P ffffffff81e00000 %d\n", 10*calls))
		b.WriteString(fmt.Sprintf("P ffffffff81001000 %d\n", 5*calls))
		b.WriteString(fmt.Sprintf("P ffffffff81001010 %d\n", 1*calls+extra))
		b.WriteString(fmt.Sprintf("P ffffffff81001200 %d\n", 3*calls))
		b.WriteString(fmt.Sprintf("P ffffffff81001250 %d\n", 2*calls))
		kernel := 21*calls + extra
		if irq {
			b.WriteString("P ffffffff81002010 500\n")
			kernel += 500
		}
		b.WriteString(fmt.Sprintf("S %d %d\n", kernel+4*calls+30, kernel))
		return b.String()
	}
	return "insncount 2\n" + opens("NullSyscall/call=getppid") + stretch(100, 40, true) + stretch(200, 40, false) + stretch(100, 40, false) + stretch(200, 40, false) +
		stretch(100, 40, false) + stretch(200, 40, false)
}

func profileStream(t testing.TB, extra ...string) *Stream {
	cs := append([]string{"insns BenchmarkNullSyscall/call=getppid iters=100 ops-per-iter=1 reps=3"}, extra...)
	return &Stream{Comments: append(cs, kallsymsComments(t, profileSymbols, 40)...)}
}

func TestProfile(t *testing.T) {
	s, raw := profileStream(t), []byte(profileRaw())
	ps, err := Profile(s, raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 {
		t.Fatalf("%d profiles, want 1", len(ps))
	}
	p := ps[0]
	want := map[string]float64{"entry_SYSCALL_64": 10, "do_syscall_64": 6, "__x64_sys_getppid": 3, "__task_pid_nr_ns": 2}
	if len(p.Funcs) != len(want) {
		t.Errorf("functions %v, want %v (the timer interrupt hit a short stretch not taken)", p.Funcs, want)
	}
	for f, n := range want {
		if got := p.PerOp(f); got != n {
			t.Errorf("%s: %v instructions per call, want %v", f, got, n)
		}
	}
	// The functions add up to the kernel's count, which is InsnsResults'.
	var sum int64
	for _, n := range p.Funcs {
		sum += n
	}
	rs, _, err := InsnsResults(s, raw)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(sum) != p.Kernel || p.KernelPerOp() != 21 || rs[0].Values[1] != (Value{p.KernelPerOp(), KernelInsnsUnit}) {
		t.Errorf("functions add up to %d, kernel count %d (%v a call), InsnsResults %v", sum, p.Kernel, p.KernelPerOp(), rs[0].Values)
	}
}

// TestProfileErrors: what does not fit is an error naming it, with the
// plugin file's line where there is one.
func TestProfileErrors(t *testing.T) {
	good := profileRaw()
	for _, tc := range []struct {
		name string
		s    *Stream
		raw  string
		want string
	}{
		{"no symbols", &Stream{Comments: []string{"insns BenchmarkNullSyscall/call=getppid iters=100 ops-per-iter=1 reps=2"}}, good, "no kernel symbols"},
		{"guest had none", profileStream(t, KallsymsNonePrefix+"/proc/kallsyms shows every address as 0"), good, "every address as 0"},
		{"bad base64", profileStream(t, KallsymsPrefix+"!!"), good, "kallsyms"},
		{"no P lines", profileStream(t), "insncount 2\n" + opens("NullSyscall/call=getppid") + "S 100 50\nS 200 100\nS 100 50\nS 200 100\nS 100 50\nS 200 100\n", "insns.raw line 3: the stretch's P lines add up to 0"},
		{"P lines short", profileStream(t), strings.Replace(good, "P ffffffff81001200 300\n", "", 1), "add up to"},
		{"bad P address", profileStream(t), strings.Replace(good, "P ffffffff81001200", "P 0xzz", 1), "insns.raw line 6: bad profile line"},
		{"bad P count", profileStream(t), strings.Replace(good, "P ffffffff81001200 300", "P ffffffff81001200 -3", 1), "insns.raw line 6: bad profile line"},
		{"zero P count", profileStream(t), strings.Replace(good, "P ffffffff81001200 300", "P ffffffff81001200 0", 1), "bad profile line"},
		{"P before a benchmark", profileStream(t), "insncount 2\nP ffffffff81001200 3\n", "line 2: a profile line before any benchmark"},
		{"P without its S", profileStream(t), "insncount 2\n" + opens("NullSyscall/call=getppid") + "P ffffffff81001200 3\n" + opens("NullSyscall/call=getppid"), "line 4: profile lines from line 3 are not followed"},
		{"P at the end", profileStream(t), good + "P ffffffff81001200 3\n", "without their stretch's S line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Profile(tc.s, []byte(tc.raw))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Profile = %+v, %v; want an error containing %q", got, err, tc.want)
			}
		})
	}
	if _, err := Profile(&Stream{Comments: []string{"insns BenchmarkX iters=1 ops-per-iter=1 reps=1"}}, []byte(good)); !errors.Is(err, ErrNoSymbols) {
		t.Errorf("without symbols: %v, want ErrNoSymbols", err)
	}
}

// TestInsnsResultsWithProfile: a profiled file counts as an unprofiled
// one does.
func TestInsnsResultsWithProfile(t *testing.T) {
	s := profileStream(t)
	var plain strings.Builder
	for _, l := range strings.SplitAfter(profileRaw(), "\n") {
		if !strings.HasPrefix(l, "P ") {
			plain.WriteString(l)
		}
	}
	a, _, err1 := InsnsResults(s, []byte(profileRaw()))
	b, _, err2 := InsnsResults(s, []byte(plain.String()))
	if err1 != nil || err2 != nil || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("with P lines %v, %v; without %v, %v", a, err1, b, err2)
	}
}

func TestSymbolLookup(t *testing.T) {
	tab, err := decodeKallsyms(gz(t, profileSymbols))
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[uint64]string{
		0xffffffff80000000: UnknownFunction, // below the first symbol
		0xffffffff81000000: "_stext",
		0xffffffff81001234: "__x64_sys_getppid",
		0xffffffff81e00000: "entry_SYSCALL_64", // the first listed of two at one address
		0xffffffff81e00100: "entry_SYSCALL_64",
		0xffffffffc0001000: UnknownFunction, // a module's: far past the last symbol
	} {
		if got := tab.lookup(v); got != want {
			t.Errorf("lookup(%x) = %q, want %q", v, got, want)
		}
	}
	for _, bad := range []string{"ffffffff81000000\n", "zz _stext\n", "0 _stext\n", "ffffffff81000000 two words\n", ""} {
		if _, err := decodeKallsyms(gz(t, bad)); err == nil {
			t.Errorf("decodeKallsyms(%q) = nil error", bad)
		}
	}
}

func gz(t testing.TB, s string) []byte {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

// FuzzProfile: whatever the plugin file holds, Profile returns functions
// that add up to the kernel count, or an error, and never panics.
func FuzzProfile(f *testing.F) {
	f.Add(profileRaw())
	f.Add("insncount 2\n" + opens("NullSyscall/call=getppid") + "P ffffffff81001000 5\nS 9 5\nP ffffffff81001000 10\nS 19 10\n")
	s := profileStream(f)
	f.Fuzz(func(t *testing.T, raw string) {
		ps, err := Profile(s, []byte(raw))
		if err != nil {
			return
		}
		for _, p := range ps {
			var sum int64
			for _, n := range p.Funcs {
				sum += n
			}
			if uint64(sum) != p.Kernel {
				t.Fatalf("functions add up to %d, kernel count %d, from %q", sum, p.Kernel, raw)
			}
		}
	})
}
