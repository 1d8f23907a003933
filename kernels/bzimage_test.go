package kernels

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testVersion = "6.1.0-test-amd64 (someone@example.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.0-1"

// fakeBzImage builds a minimal valid bzImage: one setup sector after the
// boot sector, the version string at 0x300, and a 32-byte "kernel".
func fakeBzImage() []byte {
	b := make([]byte, 1024+32)
	le := binary.LittleEndian
	b[offSetupSects] = 1
	le.PutUint32(b[offSysSize:], 2) // 2 paragraphs = 32 bytes
	le.PutUint16(b[offBootFlag:], bootFlag)
	copy(b[offHeaderMagic:], headerMagic)
	le.PutUint16(b[offProtocol:], 0x020f)
	le.PutUint16(b[offKernelVersion:], 0x300-0x200)
	copy(b[0x300:], testVersion+"\x00")
	return b
}

func TestParseBzImage(t *testing.T) {
	img, err := ParseBzImage(fakeBzImage())
	if err != nil {
		t.Fatalf("ParseBzImage(good) = %v", err)
	}
	want := BzImage{Release: "6.1.0-test-amd64", Version: testVersion, Protocol: 0x020f, SetupSize: 1024, SysSize: 32}
	if img != want {
		t.Fatalf("ParseBzImage(good) = %+v, want %+v", img, want)
	}

	le := binary.LittleEndian
	tests := []struct {
		name   string
		edit   func([]byte) []byte
		reason string
	}{
		{"empty", func([]byte) []byte { return nil }, "empty"},
		{"elf vmlinux", func(b []byte) []byte { copy(b, "\x7fELF\x02\x01\x01"); return b }, "ELF"},
		{"deb", func(b []byte) []byte { copy(b, "!<arch>\ndebian-binary   "); return b }, "ar archive"},
		{"truncated header", func(b []byte) []byte { return b[:0x205] }, "shorter than"},
		{"no boot flag", func(b []byte) []byte { le.PutUint16(b[offBootFlag:], 0); return b }, "boot flag"},
		{"no HdrS", func(b []byte) []byte { copy(b[offHeaderMagic:], "HdrX"); return b }, "HdrS"},
		{"old protocol", func(b []byte) []byte { le.PutUint16(b[offProtocol:], 0x0100); return b }, "older than 2.00"},
		{"zero pointer", func(b []byte) []byte { le.PutUint16(b[offKernelVersion:], 0); return b }, "pointer is 0"},
		{"pointer past setup", func(b []byte) []byte { le.PutUint16(b[offKernelVersion:], 0x400); return b }, "points past"},
		{"pointer past end", func(b []byte) []byte { return b[:0x2ff] }, "points past"},
		{"pointer max", func(b []byte) []byte { le.PutUint16(b[offKernelVersion:], 0xffff); return b }, "points past"},
		{"non-printable", func(b []byte) []byte { b[0x305] = 0x01; return b }, "non-printable"},
		{"high byte", func(b []byte) []byte { b[0x305] = 0xc3; return b }, "non-printable"},
		{"no NUL in file", func(b []byte) []byte { return b[:0x300+10] }, "not NUL-terminated"},
		{"no NUL in setup", func(b []byte) []byte {
			for i := 0x300; i < 1024; i++ {
				b[i] = 'x'
			}
			le.PutUint16(b[offKernelVersion:], 0x3f0-0x200)
			return b
		}, "not NUL-terminated"},
		{"too long", func(b []byte) []byte {
			b[offSetupSects] = 4
			b = append(b, make([]byte, 2048)...)
			for i := 0x300; i < 0x300+600; i++ {
				b[i] = 'x'
			}
			return b
		}, "longer than"},
		{"empty version", func(b []byte) []byte { b[0x300] = 0; return b }, "empty"},
		{"leading space", func(b []byte) []byte { b[0x300] = ' '; return b }, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBzImage(tt.edit(fakeBzImage()))
			if !errors.Is(err, ErrNotBzImage) {
				t.Fatalf("ParseBzImage = %v, want ErrNotBzImage", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("ParseBzImage = %v, want reason containing %q", err, tt.reason)
			}
		})
	}
}

func TestReadBzImageFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("bzImage", fakeBzImage())
	img, err := ReadBzImage(good)
	if err != nil || img.Release != "6.1.0-test-amd64" {
		t.Fatalf("ReadBzImage(good) = %+v, %v", img, err)
	}
	for name, b := range map[string][]byte{
		"empty":          nil,
		"payload cut":    fakeBzImage()[:1024+16],
		"no payload":     fakeBzImage()[:1024],
		"elf":            []byte("\x7fELF\x02\x01\x01\x00 vmlinux"),
		"text":           []byte("not a kernel at all\n"),
		"header cut mid": fakeBzImage()[:0x300],
	} {
		p := write(strings.ReplaceAll(name, " ", "-"), b)
		_, err := ReadBzImage(p)
		if !errors.Is(err, ErrNotBzImage) {
			t.Errorf("ReadBzImage(%s) = %v, want ErrNotBzImage", name, err)
			continue
		}
		if !strings.Contains(err.Error(), p) {
			t.Errorf("ReadBzImage(%s) = %v, want the path in the error", name, err)
		}
	}
	if _, err := ReadBzImage(filepath.Join(dir, "missing")); err == nil || errors.Is(err, ErrNotBzImage) {
		t.Errorf("ReadBzImage(missing) = %v, want a not-exist error", err)
	}
	if _, err := ReadBzImage(dir); !errors.Is(err, ErrNotBzImage) {
		t.Errorf("ReadBzImage(dir) = %v, want ErrNotBzImage", err)
	}
}

func TestFetchLocalFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bzImage")
	if err := os.WriteFile(p, fakeBzImage(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := SHA256File(p)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cache{Dir: filepath.Join(dir, "cache")}
	ctx := t.Context()
	k, err := c.Fetch(ctx, Candidate{}, Source{Path: p, SHA256: strings.ToUpper(sum)})
	if err != nil {
		t.Fatalf("Fetch(local) = %v", err)
	}
	if k.Path != p || k.SHA256 != sum || k.Release != "6.1.0-test-amd64" || k.Source != "file:"+p || k.Package != "" {
		t.Fatalf("Fetch(local) = %+v", k)
	}
	if _, err := c.Fetch(ctx, Candidate{}, Source{Path: p, SHA256: strings.Repeat("0", 64)}); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("Fetch(local, wrong sha) = %v, want a sha256 error", err)
	}
	cand, err := Resolve(ctx, Source{Path: p})
	if err != nil || cand.Release != "6.1.0-test-amd64" || cand.Package != "" {
		t.Fatalf("Resolve(local) = %+v, %v", cand, err)
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Errorf("Fetch(local) touched the cache dir: %v", err)
	}
}

func FuzzParseBzImage(f *testing.F) {
	f.Add(fakeBzImage())
	f.Add([]byte{})
	f.Add([]byte("\x7fELF"))
	f.Add(fakeBzImage()[:0x210])
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := ParseBzImage(b)
		if err != nil {
			if !errors.Is(err, ErrNotBzImage) {
				t.Fatalf("error %v does not wrap ErrNotBzImage", err)
			}
			return
		}
		if img.Release == "" || strings.ContainsAny(img.Release, " \x00") || img.Protocol < 0x200 {
			t.Fatalf("accepted %+v", img)
		}
		for _, c := range []byte(img.Version) {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("accepted non-printable version %q", img.Version)
			}
		}
	})
}
