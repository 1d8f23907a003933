package stream

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// Limits on guest-controlled strings. Everything the guest sends passes
// through these checks before it can reach a file name, JSON, a terminal or
// HTML.
const (
	// MaxNameLen is the longest benchmark name ValidName accepts, in bytes.
	MaxNameLen = 200
	// MaxUnitLen is the longest unit ValidUnit accepts, in bytes.
	MaxUnitLen = 32
	// MaxConfigKeyLen is the longest config key ValidConfigKey accepts, in bytes.
	MaxConfigKeyLen = 64
	// MaxConfigValueLen is the longest config value ValidConfigValue accepts, in bytes.
	MaxConfigValueLen = 1024
)

// quoteClipLen is how much of an offending string error messages quote.
const quoteClipLen = 64

// clipText returns at most quoteClipLen bytes of s, followed by "..." when
// s was longer. The result is meant to be printed with %q.
func clipText(s string) string {
	if len(s) <= quoteClipLen {
		return s
	}
	return s[:quoteClipLen] + "..."
}

// ValidName reports whether s is an acceptable benchmark name. s is the name
// as benchfmt stores it, without the "Benchmark" prefix, including any
// sub-benchmark parts such as "/procs=8/ws=16KiB" and a "-N" GOMAXPROCS
// suffix. A valid name is 1 to MaxNameLen bytes of [A-Za-z0-9_/=.,:+-],
// starts with a letter and does not contain "..".
func ValidName(s string) error {
	if s == "" {
		return errors.New("empty benchmark name")
	}
	if len(s) > MaxNameLen {
		return fmt.Errorf("benchmark name %q is %d bytes, more than %d", clipText(s), len(s), MaxNameLen)
	}
	if !isASCIILetter(s[0]) {
		return fmt.Errorf("benchmark name %q does not start with a letter", clipText(s))
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return fmt.Errorf("benchmark name %q has disallowed byte %q at offset %d", clipText(s), s[i], i)
		}
	}
	if strings.Contains(s, "..") {
		return fmt.Errorf("benchmark name %q contains \"..\"", clipText(s))
	}
	return nil
}

// ValidUnit reports whether s is an acceptable measurement unit:
// 1 to MaxUnitLen bytes of [A-Za-z0-9/_%.-].
func ValidUnit(s string) error {
	if s == "" {
		return errors.New("empty unit")
	}
	if len(s) > MaxUnitLen {
		return fmt.Errorf("unit %q is %d bytes, more than %d", clipText(s), len(s), MaxUnitLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isASCIILetter(c) || isASCIIDigit(c) || strings.IndexByte("/_%.-", c) >= 0) {
			return fmt.Errorf("unit %q has disallowed byte %q at offset %d", clipText(s), c, i)
		}
	}
	return nil
}

// ValidConfigKey reports whether k is an acceptable config key: 1 to
// MaxConfigKeyLen bytes of [a-z0-9_.-], starting with a lower-case letter,
// which is also valid benchfmt key syntax.
func ValidConfigKey(k string) error {
	if k == "" {
		return errors.New("empty config key")
	}
	if len(k) > MaxConfigKeyLen {
		return fmt.Errorf("config key %q is %d bytes, more than %d", clipText(k), len(k), MaxConfigKeyLen)
	}
	if k[0] < 'a' || k[0] > 'z' {
		return fmt.Errorf("config key %q does not start with a lower-case letter", clipText(k))
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !((c >= 'a' && c <= 'z') || isASCIIDigit(c) || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("config key %q has disallowed byte %q at offset %d", clipText(k), c, i)
		}
	}
	return nil
}

// ValidConfigValue reports whether v is an acceptable config value: at most
// MaxConfigValueLen bytes of printable ASCII (0x20 to 0x7e), possibly
// empty.
func ValidConfigValue(v string) error {
	if len(v) > MaxConfigValueLen {
		return fmt.Errorf("config value %q is %d bytes, more than %d", clipText(v), len(v), MaxConfigValueLen)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("config value %q has non-printable byte %q at offset %d", clipText(v), c, i)
		}
	}
	return nil
}

// validCommentText reports whether s may be written as a "# " comment line:
// printable ASCII and tabs, at most MaxStreamLine bytes.
func validCommentText(s string) error {
	if len(s) > MaxStreamLine-2 {
		return fmt.Errorf("comment %q is %d bytes, more than %d", clipText(s), len(s), MaxStreamLine-2)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c > 0x7e {
			return fmt.Errorf("comment %q has non-printable byte %q at offset %d", clipText(s), c, i)
		}
	}
	return nil
}

func isASCIILetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func isASCIIDigit(c byte) bool { return c >= '0' && c <= '9' }

func isNameByte(c byte) bool {
	return isASCIILetter(c) || isASCIIDigit(c) || strings.IndexByte("_/=.,:+-", c) >= 0
}

// ellipsis marks text that SafeText truncated.
const ellipsis = "…"

// SafeText makes guest console text safe to show on a terminal, in a record
// or in HTML (after the usual HTML escaping): it strips ANSI/VT escape
// sequences (CSI, OSC, DCS and the like, whether introduced by ESC or by
// the C1 CSI character), replaces every other control character except tab,
// every invalid UTF-8 byte and every non-printable rune (including Unicode
// format characters such as bidi overrides) with '?', and truncates the
// result to at most max bytes, ending it with "…" when it was cut. A max of
// zero or less means no limit. The result is valid UTF-8.
func SafeText(s string, max int) string {
	return SafeTextCut(s, max, false)
}

// SafeTextCut is SafeText; cut reports that s is itself already a
// truncated prefix, so the result gets an ellipsis even if it fits in max.
func SafeTextCut(s string, max int, cut bool) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if max > 0 && b.Len() > max {
			cut = true
			break
		}
		c := s[i]
		if c == 0x1b {
			i = skipEscape(s, i+1)
			continue
		}
		if c < utf8.RuneSelf {
			if c == '\t' || (c >= 0x20 && c < 0x7f) {
				b.WriteByte(c)
			} else {
				b.WriteByte('?')
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteByte('?')
		case r == 0x9b: // C1 CSI: same as ESC [.
			i = skipCSI(s, i+n)
			continue
		case unicode.IsPrint(r):
			b.WriteString(s[i : i+n])
		default:
			b.WriteByte('?')
		}
		i += n
	}
	out := b.String()
	if !cut && (max <= 0 || len(out) <= max) {
		return out
	}
	if max > 0 && max < len(ellipsis) {
		return out[:runeCut(out, max)]
	}
	keep := len(out)
	if max > 0 && keep > max-len(ellipsis) {
		keep = max - len(ellipsis)
	}
	return out[:runeCut(out, keep)] + ellipsis
}

// runeCut returns the largest n' <= n such that s[:n'] does not end inside
// a UTF-8 sequence.
func runeCut(s string, n int) int {
	if n >= len(s) {
		return len(s)
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

// skipEscape skips an escape sequence whose ESC ends at s[i-1] and returns
// the index just after it. Unterminated string sequences swallow the rest
// of s.
func skipEscape(s string, i int) int {
	if i >= len(s) {
		return i
	}
	c := s[i]
	switch {
	case c == '[': // CSI
		return skipCSI(s, i+1)
	case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_':
		// OSC, DCS, SOS, PM, APC: a string ended by BEL or ST (ESC \).
		for j := i + 1; j < len(s); j++ {
			if s[j] == 0x07 {
				return j + 1
			}
			if s[j] == 0x1b && j+1 < len(s) && s[j+1] == '\\' {
				return j + 2
			}
		}
		return len(s)
	case c >= 0x20 && c <= 0x2f: // nF: intermediates, then a final byte.
		j := i
		for j < len(s) && s[j] >= 0x20 && s[j] <= 0x2f {
			j++
		}
		if j < len(s) && s[j] >= 0x30 && s[j] <= 0x7e {
			j++
		}
		return j
	case c >= 0x30 && c <= 0x7e: // Two-byte sequence such as ESC c or ESC 7.
		return i + 1
	}
	return i // A lone ESC: drop just the ESC.
}

// skipCSI skips the parameter, intermediate and final bytes of a control
// sequence starting at s[i] and returns the index just after it.
func skipCSI(s string, i int) int {
	for i < len(s) && s[i] >= 0x30 && s[i] <= 0x3f {
		i++
	}
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
		i++
	}
	if i < len(s) && s[i] >= 0x40 && s[i] <= 0x7e {
		i++
	}
	return i
}

// MaxValue is the largest measurement ValidValue accepts, in the unit the
// guest wrote: 1e15 ns is eleven days an operation, 1e15 MB/s a petabyte a
// microsecond; anything larger is a broken stream or a hand-made file.
const MaxValue = 1e15

// ValidValue reports whether v is an acceptable measurement in unit: a
// finite number, not negative (nor -0), at most MaxValue. The stream
// parser, the writer of boot.bench and every reader of stored results
// apply this one check, so a NaN, an infinity or a 300-digit number never
// reaches the statistics or a table.
func ValidValue(v float64, unit string) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || math.Signbit(v) || v > MaxValue {
		return fmt.Errorf("value %v %s is not a finite non-negative number up to %g", v, unit, MaxValue)
	}
	return nil
}

// maxStoredFile caps every file read back from a run directory but the
// plugin's; maxInsnsFile caps that one (ReadInsnsFile): a profiled boot
// writes a line per function per counted stretch, 84 MB for the
// switching benchmarks of configs/switches.toml, and the plugin stops
// writing at maxInsnsLines lines (about 350 MB).
const (
	maxStoredFile = 64 << 20
	maxInsnsFile  = 512 << 20
)

// ReadStored reads a run directory's file at path: a regular file (not a
// symbolic link, a FIFO or a device, which could feed endless or blocking
// input), of at most maxStoredFile bytes.
func ReadStored(path string) ([]byte, error) { return readStored(path, maxStoredFile) }

// ReadInsnsFile is ReadStored for a boot's plugin file (InsnsFile), of at
// most maxInsnsFile bytes.
func ReadInsnsFile(path string) ([]byte, error) { return readStored(path, maxInsnsFile) }

// readStored is ReadStored with a cap of limit bytes.
func readStored(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("reading %s: a symbolic link, not a file kharness wrote", path)
		}
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("reading %s: not a regular file (%v)", path, st.Mode().Type())
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("reading %s: %d bytes, more than the %d a run's file may have", path, st.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("reading %s: more than %d bytes", path, limit)
	}
	return data, nil
}

// Printable replaces control characters in s, which may come from a
// guest's console, and cuts it to n runes.
func Printable(s string, n int) string {
	rs := []rune(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return '?'
		}
		return r
	}, s))
	if len(rs) > n {
		return string(rs[:n-1]) + "…"
	}
	return string(rs)
}
