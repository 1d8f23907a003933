// Package kernels says where a kernel comes from: a Debian binary package,
// the newest package of a Debian upstream series (a "family"), or a local
// bzImage file. It resolves those names with apt, downloads and unpacks the
// packages into a content-addressed cache, validates bzImages, and orders
// Debian versions the way dpkg does.
package kernels

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// DefaultFlavour is the Debian kernel flavour used when a Family source names none.
const DefaultFlavour = "cloud-amd64"

// Source names a kernel as a config gives it. Exactly one of Package, Family, Path is set.
type Source struct {
	Package string `toml:"package,omitempty" json:"package,omitempty"` // Debian binary package, e.g. "linux-image-6.1.0-56-cloud-amd64-unsigned"
	Family  string `toml:"family,omitempty" json:"family,omitempty"`   // Debian upstream series, e.g. "6.1": the newest available package of Flavour
	Flavour string `toml:"flavour,omitempty" json:"flavour,omitempty"` // with Family: e.g. "cloud-amd64" (the default), "amd64", "rt-amd64"
	Path    string `toml:"path,omitempty" json:"path,omitempty"`       // local bzImage file
	SHA256  string `toml:"sha256,omitempty" json:"sha256,omitempty"`   // optional with Path: expected sha256 hex of the file
	Suite   string `toml:"suite,omitempty" json:"suite,omitempty"`     // with Package or Family: the Debian suite to take it from (see KnownSuites); empty: the system's apt lists, then every known suite
}

var (
	packageRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]+$`)
	familyRE  = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	flavourRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	sha256RE  = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
	versionRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+~:-]*$`)
)

// Validate reports whether s names exactly one kernel in a well-formed way.
// It does not look at apt or the file system.
func (s Source) Validate() error {
	var set []string
	if s.Package != "" {
		set = append(set, "package")
	}
	if s.Family != "" {
		set = append(set, "family")
	}
	if s.Path != "" {
		set = append(set, "path")
	}
	switch len(set) {
	case 0:
		return errors.New("kernel source: none of package, family, path is set; set exactly one")
	case 1:
	default:
		return fmt.Errorf("kernel source: %s are all set; set exactly one", strings.Join(set, ", "))
	}
	if s.Flavour != "" && s.Family == "" {
		return fmt.Errorf("kernel source: flavour %q is only meaningful with family", s.Flavour)
	}
	if s.Suite != "" {
		if s.Path != "" {
			return fmt.Errorf("kernel source: suite %q is only meaningful with package or family", s.Suite)
		}
		if s.Suite != AllSuites && !slices.Contains(KnownSuites, s.Suite) {
			return fmt.Errorf("kernel source: suite %q is not one kharness reads (%s, or %q for every one)", s.Suite, strings.Join(KnownSuites, ", "), AllSuites)
		}
	}
	if s.SHA256 != "" && s.Path == "" {
		return errors.New("kernel source: sha256 is only checked for path sources (Debian packages are verified against apt's own sha256)")
	}
	switch {
	case s.Package != "":
		if !packageRE.MatchString(s.Package) {
			return fmt.Errorf("kernel source: package %q is not a Debian package name (lowercase letters, digits, '.', '+', '-'; at least two characters, starting with a letter or digit)", s.Package)
		}
	case s.Family != "":
		if !familyRE.MatchString(s.Family) {
			return fmt.Errorf("kernel source: family %q is not an upstream series like \"6.1\", \"6.12\" or a major version like \"7\"", s.Family)
		}
		if s.Flavour != "" && !flavourRE.MatchString(s.Flavour) {
			return fmt.Errorf("kernel source: flavour %q is not a Debian kernel flavour like \"cloud-amd64\", \"amd64\" or \"rt-amd64\"", s.Flavour)
		}
	case s.Path != "":
		if strings.ContainsRune(s.Path, 0) {
			return fmt.Errorf("kernel source: path %q contains a NUL byte", s.Path)
		}
		if s.SHA256 != "" && !sha256RE.MatchString(s.SHA256) {
			return fmt.Errorf("kernel source: sha256 %q is not 64 hex digits", s.SHA256)
		}
	}
	return nil
}

// FlavourOrDefault is s.Flavour, or DefaultFlavour when that is empty.
func (s Source) FlavourOrDefault() string {
	if s.Flavour == "" {
		return DefaultFlavour
	}
	return s.Flavour
}

// String names the source in one word: "debian:PKG", "family:6.1/cloud-amd64" or "file:/path";
// a suite follows after '@' ("family:6.18/cloud-amd64@trixie-backports").
// ParseSource reads it back.
func (s Source) String() string {
	at := ""
	if s.Suite != "" {
		at = "@" + s.Suite
	}
	switch {
	case s.Package != "":
		return "debian:" + s.Package + at
	case s.Family != "":
		return "family:" + s.Family + "/" + s.FlavourOrDefault() + at
	case s.Path != "":
		return "file:" + s.Path
	}
	return "none"
}

// ParseSource reads the forms String writes ("debian:PKG", "family:6.1",
// "family:6.1/amd64", "file:/path") and validates the result.
func ParseSource(text string) (Source, error) {
	kind, rest, ok := strings.Cut(text, ":")
	if !ok || rest == "" {
		return Source{}, fmt.Errorf("parsing kernel source %q: want debian:PACKAGE, family:N.N[/FLAVOUR] or file:PATH", text)
	}
	var s Source
	if kind != "file" {
		if r, suite, ok := strings.Cut(rest, "@"); ok {
			rest, s.Suite = r, suite
			if suite == "" {
				return Source{}, fmt.Errorf("parsing kernel source %q: empty suite after '@'", text)
			}
		}
	}
	switch kind {
	case "debian":
		s.Package = rest
	case "family":
		var slash bool
		s.Family, s.Flavour, slash = strings.Cut(rest, "/")
		if slash && s.Flavour == "" {
			return Source{}, fmt.Errorf("parsing kernel source %q: empty flavour after '/'", text)
		}
	case "file":
		s.Path = rest
	default:
		return Source{}, fmt.Errorf("parsing kernel source %q: unknown kind %q; want debian, family or file", text, kind)
	}
	if err := s.Validate(); err != nil {
		return Source{}, fmt.Errorf("parsing kernel source %q: %w", text, err)
	}
	return s, nil
}
