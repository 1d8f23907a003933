package kernels

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// ErrNotBzImage says a file is not a Linux x86 bzImage; match it with errors.Is.
var ErrNotBzImage = errors.New("not a bzImage")

// BzImage holds the facts read from a bzImage's real-mode header
// (Documentation/arch/x86/boot.rst).
type BzImage struct {
	Release   string // first word of the kernel_version string, e.g. "6.1.0-56-cloud-amd64"
	Version   string // the whole kernel_version string
	Protocol  uint16 // boot protocol version, e.g. 0x020f for 2.15
	SetupSize int    // bytes of real-mode setup code before the protected-mode kernel
	SysSize   int64  // bytes of protected-mode kernel the header announces (0 before protocol 2.04)
}

// Offsets into the real-mode header.
const (
	offSetupSects    = 0x1f1
	offSysSize       = 0x1f4
	offBootFlag      = 0x1fe
	offHeaderMagic   = 0x202
	offProtocol      = 0x206
	offKernelVersion = 0x20e
	headerEnd        = 0x210
	bootFlag         = 0xaa55
	headerMagic      = "HdrS"
	maxSetupSize     = (255 + 1) * 512 // setup_sects is one byte
	maxVersionLen    = 512
)

func notBzImage(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotBzImage, fmt.Sprintf(format, args...))
}

// ParseBzImage validates the header at the start of a bzImage (at least the
// setup code, which ReadBzImage reads) and returns its facts. Anything else
// (an ELF vmlinux, a .deb, a truncated header, a version pointer out of range,
// a non-printable version string) is an error wrapping ErrNotBzImage.
func ParseBzImage(b []byte) (BzImage, error) {
	if len(b) == 0 {
		return BzImage{}, notBzImage("empty")
	}
	if len(b) >= 4 && string(b[:4]) == "\x7fELF" {
		return BzImage{}, notBzImage("an ELF file (an uncompressed vmlinux?); want the bzImage (boot/vmlinuz-*)")
	}
	if len(b) >= 8 && string(b[:8]) == "!<arch>\n" {
		return BzImage{}, notBzImage("an ar archive (a .deb?); the bzImage is boot/vmlinuz-* inside it")
	}
	if len(b) < headerEnd {
		return BzImage{}, notBzImage("%d bytes, shorter than the %d-byte boot header", len(b), headerEnd)
	}
	le := binary.LittleEndian
	if flag := le.Uint16(b[offBootFlag:]); flag != bootFlag {
		return BzImage{}, notBzImage("boot flag at 0x1fe is %#04x, want 0xaa55", flag)
	}
	if magic := b[offHeaderMagic : offHeaderMagic+4]; string(magic) != headerMagic {
		return BzImage{}, notBzImage("no \"HdrS\" magic at 0x202 (found %q)", magic)
	}
	img := BzImage{Protocol: le.Uint16(b[offProtocol:])}
	if img.Protocol < 0x0200 {
		return BzImage{}, notBzImage("boot protocol %#04x is older than 2.00 and has no kernel_version", img.Protocol)
	}
	sects := int(b[offSetupSects])
	if sects == 0 {
		sects = 4
	}
	img.SetupSize = (sects + 1) * 512
	if img.Protocol >= 0x0204 {
		img.SysSize = int64(le.Uint32(b[offSysSize:])) * 16
	}
	ptr := int(le.Uint16(b[offKernelVersion:]))
	if ptr == 0 {
		return BzImage{}, notBzImage("kernel_version pointer is 0 (no version string)")
	}
	start := ptr + 0x200
	if start >= img.SetupSize || start >= len(b) {
		return BzImage{}, notBzImage("kernel_version pointer %#x points past the %d-byte setup code", ptr, min(img.SetupSize, len(b)))
	}
	end := start
	for end < len(b) && end < img.SetupSize && b[end] != 0 {
		c := b[end]
		if c < 0x20 || c > 0x7e {
			return BzImage{}, notBzImage("kernel_version string at %#x has a non-printable byte %#02x", start, c)
		}
		if end-start >= maxVersionLen {
			return BzImage{}, notBzImage("kernel_version string at %#x is longer than %d bytes", start, maxVersionLen)
		}
		end++
	}
	if end >= len(b) || end >= img.SetupSize {
		return BzImage{}, notBzImage("kernel_version string at %#x is not NUL-terminated within the setup code", start)
	}
	img.Version = string(b[start:end])
	img.Release, _, _ = strings.Cut(img.Version, " ")
	if img.Release == "" {
		return BzImage{}, notBzImage("kernel_version string at %#x is empty", start)
	}
	return img, nil
}

// ReadBzImage validates the Linux x86 bzImage at path and returns its header
// facts. Besides ParseBzImage's checks it rejects a file shorter than its
// header says (a truncated download).
func ReadBzImage(path string) (BzImage, error) {
	f, err := os.Open(path)
	if err != nil {
		return BzImage{}, fmt.Errorf("reading bzImage: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return BzImage{}, fmt.Errorf("reading bzImage: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return BzImage{}, fmt.Errorf("reading %s: %w: not a regular file", path, ErrNotBzImage)
	}
	b := make([]byte, min(fi.Size(), maxSetupSize))
	if _, err := io.ReadFull(f, b); err != nil {
		return BzImage{}, fmt.Errorf("reading %s: %w", path, err)
	}
	img, err := ParseBzImage(b)
	if err != nil {
		return BzImage{}, fmt.Errorf("reading %s: %w", path, err)
	}
	if want := int64(img.SetupSize) + img.SysSize; fi.Size() < want || fi.Size() == int64(img.SetupSize) {
		return BzImage{}, fmt.Errorf("reading %s: %w: %d bytes, but its header announces %d (truncated?)", path, ErrNotBzImage, fi.Size(), max(want, int64(img.SetupSize)+1))
	}
	return img, nil
}
