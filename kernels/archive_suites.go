package kernels

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
)

// Mirrors are the archive's two URIs: Debian's main archive and its
// security archive.
type Mirrors struct{ Debian, Security string }

// mirrors reads the URIs of the system's Debian suites from apt's policy
// (origin Debian, label Debian and Debian-Security), so the archive uses
// the mirror this machine is set up for. $KHARNESS_DEBIAN_MIRROR and
// $KHARNESS_DEBIAN_SECURITY_MIRROR override them.
func mirrors(ctx context.Context) (Mirrors, error) {
	mirrorsMu.Lock()
	defer mirrorsMu.Unlock()
	if mirrorsFound != nil {
		return *mirrorsFound, nil
	}
	m, err := findMirrors(ctx)
	if err == nil {
		mirrorsFound = &m
	}
	return m, err
}

// The mirrors, once found: apt's policy does not change during a run.
var (
	mirrorsMu    sync.Mutex
	mirrorsFound *Mirrors
)

func findMirrors(ctx context.Context) (Mirrors, error) {
	m := Mirrors{Debian: os.Getenv("KHARNESS_DEBIAN_MIRROR"), Security: os.Getenv("KHARNESS_DEBIAN_SECURITY_MIRROR")}
	if m.Debian == "" || m.Security == "" {
		out, err := aptCache(ctx, "policy")
		if err != nil {
			return Mirrors{}, err
		}
		found := parsePolicyMirrors(out)
		if m.Debian == "" {
			m.Debian = found.Debian
		}
		if m.Security == "" {
			m.Security = found.Security
		}
	}
	if m.Debian == "" {
		return Mirrors{}, errors.New("finding a Debian mirror: apt's configuration names no suite of origin Debian; set KHARNESS_DEBIAN_MIRROR to the archive's URI")
	}
	if m.Security == "" {
		m.Security = strings.TrimSuffix(m.Debian, "/") + "-security"
	}
	for _, u := range []string{m.Debian, m.Security} {
		if !uriRE.MatchString(u) {
			return Mirrors{}, fmt.Errorf("finding a Debian mirror: %q is not an http(s) or file URI", u)
		}
	}
	return m, nil
}

var uriRE = regexp.MustCompile(`^(https?|file):/[^\s\[\]]*$`)

// parsePolicyMirrors reads `apt-cache policy` output: a line " 500 URI
// SUITE/COMPONENT ARCH Packages" followed by " release ...,o=Debian,...,l=LABEL,...".
func parsePolicyMirrors(out []byte) Mirrors {
	var m Mirrors
	var uri string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 3 && f[len(f)-1] == "Packages" && strings.Contains(f[1], "://"):
			uri = f[1]
		case len(f) == 2 && f[0] == "release" && uri != "":
			attrs := map[string]string{}
			for _, kv := range strings.Split(f[1], ",") {
				if k, v, ok := strings.Cut(kv, "="); ok {
					attrs[k] = v
				}
			}
			if attrs["o"] == "Debian" {
				switch attrs["l"] {
				case "Debian":
					if m.Debian == "" {
						m.Debian = uri
					}
				case "Debian-Security":
					if m.Security == "" {
						m.Security = uri
					}
				}
			}
			uri = ""
		}
	}
	return m
}

// parsePolicySuites reads `apt-cache policy PKG...`: for each package, the
// suite of its candidate version.
func parsePolicySuites(out []byte) map[string]string {
	suites := map[string]string{}
	var pkg, cand string
	inCand := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case len(line) > 0 && line[0] != ' ' && strings.HasSuffix(line, ":"):
			pkg, cand, inCand = strings.TrimSuffix(line, ":"), "", false
		case len(f) == 2 && f[0] == "Candidate:":
			cand = f[1]
		case pkg != "" && cand != "" && len(f) >= 2 && (f[0] == cand || (f[0] == "***" && f[1] == cand)):
			inCand = true
		case inCand && len(f) >= 3 && strings.Contains(f[1], "://"):
			s, _, _ := strings.Cut(f[2], "/")
			if _, done := suites[pkg]; !done {
				suites[pkg] = s
			}
			inCand = false
		}
	}
	return suites
}
