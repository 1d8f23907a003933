//go:build linux

package guest

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// kallsymsSample is /proc/kallsyms as a 6.1 kernel lists it, trimmed:
// text symbols of every kind, data, an absolute symbol, and a module's.
const kallsymsSample = `0000000000000000 A fixed_percpu_data
ffffffff81000000 T _stext
ffffffff81000000 T startup_64
ffffffff81001000 t do_syscall_64
ffffffff81001200 T __x64_sys_getppid
ffffffff81001240 W arch_weak_hook
ffffffff81001280 w weak_local
ffffffff81e00000 T entry_SYSCALL_64
ffffffff82000000 D some_data
ffffffff82400000 b some_bss
ffffffff82600000 R some_rodata
ffffffffc0000000 t virtio_probe	[virtio_net]
ffffffffc0000100 T virtio_init	[virtio_net]
`

// decodePieces is what the host does with the kallsyms comments: join,
// base64, gunzip.
func decodePieces(t *testing.T, pieces []string) string {
	t.Helper()
	z, err := base64.StdEncoding.DecodeString(strings.Join(pieces, ""))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEncodeKallsymsRoundTrip(t *testing.T) {
	pieces, n, err := encodeKallsyms(strings.NewReader(kallsymsSample))
	if err != nil {
		t.Fatal(err)
	}
	want := "ffffffff81000000 _stext\nffffffff81000000 startup_64\nffffffff81001000 do_syscall_64\n" +
		"ffffffff81001200 __x64_sys_getppid\nffffffff81001240 arch_weak_hook\nffffffff81001280 weak_local\n" +
		"ffffffff81e00000 entry_SYSCALL_64\n"
	if got := decodePieces(t, pieces); got != want || n != 7 {
		t.Errorf("decoded %d symbols:\n%s\nwant 7:\n%s", n, got, want)
	}
}

// TestEncodeKallsymsPieces: a table of many symbols comes in pieces of at
// most KallsymsChunk characters, which a stream comment carries whole.
func TestEncodeKallsymsPieces(t *testing.T) {
	var in, want strings.Builder
	for i := 0; i < 20000; i++ {
		// Names that do not compress to nothing: a table of real size.
		name := base64.RawURLEncoding.EncodeToString([]byte{byte(i), byte(i >> 8), byte(i * 7), byte(i * 13)})
		addr := 0xffffffff81000000 + uint64(i)*0x40
		in.WriteString(strings.Join([]string{hexAddr(addr), "t", "fn_" + name}, " ") + "\n")
		want.WriteString(hexAddr(addr) + " fn_" + name + "\n")
	}
	pieces, n, err := encodeKallsyms(strings.NewReader(in.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(pieces) < 2 || n != 20000 {
		t.Fatalf("%d symbols in %d pieces, want 20000 in several", n, len(pieces))
	}
	for i, p := range pieces {
		if len(p) > KallsymsChunk || (i < len(pieces)-1 && len(p) != KallsymsChunk) {
			t.Errorf("piece %d is %d characters (limit %d)", i, len(p), KallsymsChunk)
		}
	}
	if got := decodePieces(t, pieces); got != want.String() {
		t.Error("the pieces do not decode to the table")
	}
	// Written to a stream, each piece is one comment line.
	var buf bytes.Buffer
	path := filepath.Join(t.TempDir(), "kallsyms")
	if err := os.WriteFile(path, []byte(in.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeKallsyms(NewStreamWriter(&buf), path, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(pieces) {
		t.Fatalf("%d lines for %d pieces", len(lines), len(pieces))
	}
	for i, l := range lines {
		if l != "# "+kallsymsPrefix+pieces[i] {
			t.Fatalf("line %d = %.40q..., want the piece as a comment", i+1, l)
		}
	}
}

func hexAddr(v uint64) string { return fmt.Sprintf("%016x", v) }

// TestKallsymsHidden: a kernel that shows every address as 0 gets a
// comment saying so, which the host reports, instead of a table.
func TestKallsymsHidden(t *testing.T) {
	hidden := "0000000000000000 T _stext\n0000000000000000 t do_syscall_64\n0000000000000000 D some_data\n"
	if _, _, err := encodeKallsyms(strings.NewReader(hidden)); !errors.Is(err, errZeroAddresses) {
		t.Fatalf("encodeKallsyms = %v, want errZeroAddresses", err)
	}
	path := filepath.Join(t.TempDir(), "kallsyms")
	if err := os.WriteFile(path, []byte(hidden), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeKallsyms(NewStreamWriter(&buf), path, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); !strings.HasPrefix(got, "# "+kallsymsNonePrefix) || !strings.Contains(got, "every address as 0") {
		t.Errorf("stream %q, want a kallsyms-none comment naming the zero addresses", got)
	}
	buf.Reset()
	if err := writeKallsyms(NewStreamWriter(&buf), filepath.Join(t.TempDir(), "missing"), io.Discard); err != nil || !strings.HasPrefix(buf.String(), "# "+kallsymsNonePrefix) {
		t.Errorf("missing file: %v, %q", err, buf.String())
	}
}

func TestParseKallsymsParam(t *testing.T) {
	p, _, err := ParseCmdline("quiet kharness.kallsyms=1 kharness.insns=1", DefaultParams())
	if err != nil || !p.Kallsyms || !p.Insns {
		t.Errorf("ParseCmdline = %+v, %v; want Kallsyms and Insns", p, err)
	}
	if _, _, err := ParseCmdline("kharness.kallsyms=maybe", DefaultParams()); err == nil || !strings.Contains(err.Error(), "kharness.kallsyms") {
		t.Errorf("bad value: %v, want an error naming kharness.kallsyms", err)
	}
}
