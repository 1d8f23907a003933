package stream_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"kharness/results/stream"
)

func TestValidName(t *testing.T) {
	good := []string{
		"NullSyscall",
		"NullSyscall/call=getppid",
		"PageFault/procs=8/ws=16KiB",
		"PageFault/procs=8/ws=16KiB-8",
		"Pipe/size=4,mode=a:b+c.d_e",
		"A",
		strings.Repeat("x", stream.MaxNameLen),
	}
	for _, s := range good {
		if err := stream.ValidName(s); err != nil {
			t.Errorf("ValidName(%q) = %v, want nil", s, err)
		}
	}
	bad := []string{
		"",
		"../../etc",
		"Foo/../../etc",
		"Foo..bar",
		"<script>",
		"Foo<script>alert(1)</script>",
		"_Foo",
		"1Foo",
		"/Foo",
		"Foo bar",
		"Foo\tbar",
		"Foo\nbar",
		"Foo\x1b[31m",
		"Foo\"bar",
		"Foo'bar",
		"Foo\\bar",
		"Foo&bar",
		"Foo%2e",
		"Fooé",
		strings.Repeat("x", stream.MaxNameLen+1),
	}
	for _, s := range bad {
		if err := stream.ValidName(s); err == nil {
			t.Errorf("ValidName(%q) = nil, want error", s)
		}
	}
}

func TestValidUnit(t *testing.T) {
	for _, s := range []string{"ns/op", "B/op", "allocs/op", "MB/s", "%", "cache-misses/op", "sec/op", "x_y.z", strings.Repeat("u", stream.MaxUnitLen)} {
		if err := stream.ValidUnit(s); err != nil {
			t.Errorf("ValidUnit(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range []string{"", "ns op", "ns/<b>", "ns:op", "µs", "a\x00", strings.Repeat("u", stream.MaxUnitLen+1)} {
		if err := stream.ValidUnit(s); err == nil {
			t.Errorf("ValidUnit(%q) = nil, want error", s)
		}
	}
}

func TestValidConfigKey(t *testing.T) {
	for _, s := range []string{"goos", "kernel-release", "kernel-cmdline", "cpu-model", "a.b_c-9", strings.Repeat("k", stream.MaxConfigKeyLen)} {
		if err := stream.ValidConfigKey(s); err != nil {
			t.Errorf("ValidConfigKey(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range []string{"", "Goos", "goOS", "9goos", ".file", "-x", "go os", "go:os", "go/os", "gö", strings.Repeat("k", stream.MaxConfigKeyLen+1)} {
		if err := stream.ValidConfigKey(s); err == nil {
			t.Errorf("ValidConfigKey(%q) = nil, want error", s)
		}
	}
}

func TestValidConfigValue(t *testing.T) {
	for _, s := range []string{"", "linux", "console=ttyS0 pti=on kharness.count=5", "QEMU Virtual CPU version 2.5+", "~!@#$%^&*()<>", strings.Repeat("v", stream.MaxConfigValueLen)} {
		if err := stream.ValidConfigValue(s); err != nil {
			t.Errorf("ValidConfigValue(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range []string{"a\tb", "a\nb", "a\rb", "\x1b[2J", "\x7f", "é", "\xff", strings.Repeat("v", stream.MaxConfigValueLen+1)} {
		if err := stream.ValidConfigValue(s); err == nil {
			t.Errorf("ValidConfigValue(%q) = nil, want error", s)
		}
	}
}

func TestSafeText(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"plain text", 0, "plain text"},
		{"tab\tkept", 0, "tab\tkept"},
		{"\x1b[1;31mred\x1b[0m normal", 0, "red normal"},
		{"\x1b]0;window title\x07after", 0, "after"},
		{"\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", 0, "link"},
		{"\x1bPdcs stuff\x1b\\ok", 0, "ok"},
		{"\x1b(Bcharset", 0, "charset"},
		{"\x1bcreset", 0, "reset"},
		{"lone esc\x1b", 0, "lone esc"},
		{"\u009b31mc1 csi", 0, "c1 csi"},
		{"bell\a nul\x00 del\x7f cr\r lf\n", 0, "bell? nul? del? cr? lf?"},
		{"bad \xff\xfe utf8", 0, "bad ?? utf8"},
		{"bidi \u202eevil", 0, "bidi ?evil"},
		{"nbsp\u00a0x", 0, "nbsp?x"},
		{"héllo wörld ✓", 0, "héllo wörld ✓"},
		{"0123456789", 10, "0123456789"},
		{"0123456789", 9, "012345…"},
		{"0123456789", 4, "0…"},
		{"0123456789", 3, "…"},
		{"0123456789", 2, "01"},
		{"ééééé", 8, "éé…"},                // never cut inside a rune
		{"ééééé", 7, "éé…"},                // 2+2+3
		{"\x1b[31m0123\x1b[0m", 4, "0123"}, // escapes do not count
	}
	for _, tt := range tests {
		got := stream.SafeText(tt.in, tt.max)
		if got != tt.want {
			t.Errorf("SafeText(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
		if tt.max > 0 && len(got) > tt.max {
			t.Errorf("SafeText(%q, %d) = %q, longer than max", tt.in, tt.max, got)
		}
		if !utf8.ValidString(got) {
			t.Errorf("SafeText(%q, %d) = %q, not valid UTF-8", tt.in, tt.max, got)
		}
	}
}
