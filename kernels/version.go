package kernels

import "strings"

// CompareVersions orders two Debian package versions the way dpkg does
// (dpkg --compare-versions): epoch first (numerically), then the upstream
// version, then the Debian revision. Runs of digits compare numerically,
// '~' sorts before everything (even the end of the string), and letters sort
// before other characters. It returns -1, 0 or +1. Malformed versions are
// ordered too, deterministically, so sorting never fails.
func CompareVersions(a, b string) int {
	ae, au, ar := splitVersion(a)
	be, bu, br := splitVersion(b)
	if c := compareDigits(ae, be); c != 0 {
		return c
	}
	if c := verrevcmp(au, bu); c != 0 {
		return c
	}
	return verrevcmp(ar, br)
}

// CompareReleases orders kernel release strings such as "6.1.0-56-cloud-amd64"
// and "6.12.117+deb12-cloud-amd64" with dpkg's character ordering over the
// whole string, so "6.1.0-56" < "6.12.9" < "6.12.10". It returns -1, 0 or +1.
func CompareReleases(a, b string) int {
	return verrevcmp(a, b)
}

// UpstreamVersion is the upstream part of a Debian version: without the
// epoch and the Debian revision ("6.12.117-1~deb12u1" gives "6.12.117").
func UpstreamVersion(version string) string {
	_, upstream, _ := splitVersion(version)
	return upstream
}

// splitVersion splits [epoch:]upstream[-revision]. The epoch is taken only
// when everything before the first ':' is digits; the revision follows the
// last '-'.
func splitVersion(v string) (epoch, upstream, revision string) {
	if i := strings.IndexByte(v, ':'); i > 0 && allDigits(v[:i]) {
		epoch, v = v[:i], v[i+1:]
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

// compareDigits compares two strings of decimal digits numerically, at any length.
func compareDigits(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return sign(len(a) - len(b))
	}
	return strings.Compare(a, b)
}

// order is dpkg's weight of one character in a non-digit run; 0 stands for
// the end of the string (and for a digit, which ends the run).
func order(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	c := s[i]
	switch {
	case isDigit(c):
		return 0
	case isLetter(c):
		return int(c)
	case c == '~':
		return -1
	default:
		return int(c) + 256
	}
}

// verrevcmp is dpkg's comparison of an upstream version or a revision:
// alternating non-digit runs (by order) and digit runs (numerically).
func verrevcmp(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := order(a, i), order(b, j)
			if ac != bc {
				return sign(ac - bc)
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		firstDiff := 0
		for i < len(a) && isDigit(a[i]) && j < len(b) && isDigit(b[j]) {
			if firstDiff == 0 {
				firstDiff = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if firstDiff != 0 {
			return sign(firstDiff)
		}
	}
	return 0
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
