//go:build linux

package guest

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCmdline(t *testing.T) {
	d := DefaultParams()
	with := func(f func(*Params)) Params { p := d; f(&p); return p }
	for _, tc := range []struct {
		name    string
		cmdline string
		want    Params
		ignored []string
		errWord string // non-empty: want an error naming this parameter
	}{
		{name: "empty", cmdline: "", want: d},
		{name: "defaults", cmdline: "console=ttyS0 quiet panic=-1\n", want: d},
		{name: "all", cmdline: "console=ttyS0 kharness.run=^BenchmarkNull kharness.benchtime=50ms kharness.count=3 kharness.mode=probe quiet\n",
			want: Params{Run: "^BenchmarkNull", Benchtime: 50 * time.Millisecond, Count: 3, Mode: ModeProbe, Kref: KrefPath, CountSched: DefaultCountSched}},
		{name: "countsched", cmdline: "kharness.countsched=batch", want: with(func(p *Params) { p.CountSched = CountSchedBatch })},
		{name: "quoted", cmdline: `kharness.run="a b|call=getppid" x="y z"`, want: with(func(p *Params) { p.Run = "a b|call=getppid" })},
		{name: "last wins", cmdline: "kharness.count=2 kharness.count=7", want: with(func(p *Params) { p.Count = 7 })},
		{name: "unknown ignored", cmdline: "kharness.colour=red kharnessx.count=x foo.kharness.count=y kharness.count=4",
			want: with(func(p *Params) { p.Count = 4 }), ignored: []string{"kharness.colour"}},
		{name: "after --", cmdline: "quiet -- kharness.mode=truncate", want: with(func(p *Params) { p.Mode = ModeTruncate })},
		{name: "bad duration", cmdline: "kharness.benchtime=fast", errWord: "kharness.benchtime"},
		{name: "zero duration", cmdline: "kharness.benchtime=0s", errWord: "kharness.benchtime"},
		{name: "bad count", cmdline: "kharness.count=ten", errWord: "kharness.count"},
		{name: "zero count", cmdline: "kharness.count=0", errWord: "kharness.count"},
		{name: "bad regexp", cmdline: "kharness.run=(", errWord: "kharness.run"},
		{name: "bad mode", cmdline: "kharness.mode=bogus", errWord: "kharness.mode"},
		{name: "bad countsched", cmdline: "kharness.countsched=rr", errWord: "kharness.countsched"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ignored, err := ParseCmdline(tc.cmdline, d)
			if tc.errWord != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errWord) {
					t.Fatalf("error %v, want one naming %s", err, tc.errWord)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if !reflect.DeepEqual(ignored, tc.ignored) {
				t.Errorf("ignored %q, want %q", ignored, tc.ignored)
			}
		})
	}
}

// TestParseCmdlineAppliesEveryWord: a bad value does not stop the words
// after it; the error names every bad parameter and p holds the good ones.
func TestParseCmdlineAppliesEveryWord(t *testing.T) {
	p, _, err := ParseCmdline("kharness.count=ten kharness.mode=shell kharness.insns=maybe kharness.run=Pipe", DefaultParams())
	if err == nil || !strings.Contains(err.Error(), "kharness.count") || !strings.Contains(err.Error(), "kharness.insns") {
		t.Errorf("error %v, want one naming kharness.count and kharness.insns", err)
	}
	if p.Mode != ModeShell || p.Run != "Pipe" || p.Count != DefaultParams().Count {
		t.Errorf("got %+v, want mode shell, run Pipe and the default count", p)
	}
}

func TestModes(t *testing.T) {
	for _, m := range Modes {
		if !m.Known() {
			t.Errorf("%s not known", m)
		}
	}
	for m, want := range map[Mode]bool{ModeBench: true, ModeProbe: true, ModeTruncate: true,
		ModeMiscount: true, ModeGarble: true, ModeHang: false, ModeFlood: false, ModeCrash: false} {
		if m.HasStream() != want {
			t.Errorf("%s.HasStream() = %v", m, !want)
		}
	}
	if Mode("bogus").Known() {
		t.Error("bogus is known")
	}
}

// TestArgsRoundTrip: what the host writes with Args, the guest reads back
// with ParseCmdline, field for field, among other words of a command line.
func TestArgsRoundTrip(t *testing.T) {
	for _, p := range []Params{
		{Run: "NullSyscall/call=getppid$", Benchtime: 100 * time.Millisecond, Count: 10, Mode: ModeBench, Kref: KrefPath},
		{Run: "Pipe|Ctx Switch", Benchtime: 1500 * time.Millisecond, Count: 3, Mode: ModeProbe, Kref: KrefPath, Insns: true, Kallsyms: true, Fidelity: true, CountSched: CountSchedDefault},
		{Run: ".", Benchtime: time.Millisecond, Count: 1, Mode: ModeShell, Kref: KrefPath},
	} {
		cmdline := "console=ttyS0 pti=on " + strings.Join(p.Args(), " ") + " quiet"
		got, ignored, err := ParseCmdline(cmdline, Params{Kref: KrefPath})
		if err != nil || len(ignored) != 0 || got != p {
			t.Errorf("%q: got %+v, ignored %v, err %v; want %+v", cmdline, got, ignored, err, p)
		}
	}
	if got := (Params{Insns: true}).Args(); len(got) != 1 || got[0] != "kharness.insns=1" {
		t.Errorf("Args of Insns alone = %q, want only kharness.insns=1", got)
	}
}

func TestParseFidelity(t *testing.T) {
	p, _, err := ParseCmdline("kharness.fidelity=1", DefaultParams())
	if err != nil || !p.Fidelity || p.Kref != KrefPath {
		t.Errorf("fidelity=1: %+v, %v", p, err)
	}
	if _, _, err := ParseCmdline("kharness.fidelity=maybe", DefaultParams()); err == nil {
		t.Error("fidelity=maybe accepted")
	}
	if fidelityOn(Params{Run: "."}) || !fidelityOn(Params{Run: "impl="}) || !fidelityOn(Params{Run: ".", Fidelity: true}) {
		t.Error("fidelityOn")
	}
}
