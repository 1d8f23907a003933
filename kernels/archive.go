package kernels

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// The archive: Debian suites beyond the ones the system's apt lists name.
// Debian's archive serves bookworm-backports, trixie, trixie-backports and
// sid beside bookworm; together they hold every cloud kernel from 6.1 to
// the newest. kharness reads them with apt, through a sources list and a
// lists directory of its own under the cache (apt-get -o
// Dir::Etc::sourcelist=... -o Dir::State::Lists=...), so the system's apt
// configuration is never touched. apt verifies each suite's index against
// Debian's archive keyring (the signed InRelease file) and kharness the
// .deb against the index's sha256, as for the system's suites.

// AllSuites, as a source's suite, means every suite of KnownSuites.
const AllSuites = "all"

// KnownSuites are the Debian suites the archive reads, oldest first.
var KnownSuites = []string{
	"bookworm", "bookworm-updates", "bookworm-security", "bookworm-backports",
	"trixie", "trixie-updates", "trixie-security", "trixie-backports",
	"sid",
}

// archiveKeyring is the keyring apt checks the suites' signatures with: the
// one Debian's apt configuration names for its own suites.
const archiveKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// listsMaxAge is how old the archive's lists may be before a listing
// refreshes them: Debian publishes kernels a few times a month.
const listsMaxAge = 12 * time.Hour

// Archive is kharness's private view of Debian's suites.
type Archive struct {
	Dir  string                           // sources.list, lists/, cache/
	Logf func(format string, args ...any) // progress; nil for none
}

// OpenArchive returns the archive kept under cacheDir (empty:
// DefaultCacheDir).
func OpenArchive(cacheDir string) (*Archive, error) {
	if cacheDir == "" {
		d, err := DefaultCacheDir()
		if err != nil {
			return nil, err
		}
		cacheDir = d
	}
	// apt reads a relative Dir:: option under /etc/apt.
	dir, err := filepath.Abs(filepath.Join(cacheDir, "apt"))
	if err != nil {
		return nil, err
	}
	return &Archive{Dir: dir}, nil
}

func (a *Archive) logf(format string, args ...any) {
	if a.Logf != nil {
		a.Logf(format, args...)
	}
}

// aptOptions points apt at the archive's own files and nothing of the
// system's sources.
func (a *Archive) aptOptions() []string {
	opts := []string{
		"-o", "Dir::Etc::sourcelist=" + filepath.Join(a.Dir, "sources.list"),
		"-o", "Dir::Etc::sourceparts=-",
		"-o", "Dir::State::Lists=" + filepath.Join(a.Dir, "lists"),
		"-o", "Dir::Cache=" + filepath.Join(a.Dir, "cache"),
		"-o", "Dir::Cache::pkgcache=",
		"-o", "Dir::Cache::srcpkgcache=",
		"-o", "Acquire::Languages=none",
		"-o", "APT::Get::List-Cleanup=true",
	}
	for _, t := range []string{"DEP-11", "DEP-11-icons", "DEP-11-icons-small", "Contents-deb"} {
		opts = append(opts, "-o", "Acquire::IndexTargets::deb::"+t+"::DefaultEnabled=false")
	}
	if os.Geteuid() == 0 {
		opts = append(opts, "-o", "APT::Sandbox::User=root")
	}
	return opts
}

// sourcesList is the archive's sources list: one line a suite.
func sourcesList(m Mirrors) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# kharness's own view of Debian's suites; the system's apt configuration is not used or changed.\n")
	for _, s := range KnownSuites {
		uri := m.Debian
		if strings.HasSuffix(s, "-security") {
			uri = m.Security
		}
		fmt.Fprintf(&b, "deb [signed-by=%s] %s %s main\n", archiveKeyring, uri, s)
	}
	return b.String()
}

// kernelPkgRE matches the packages that hold a kernel image, in the three
// namings Debian's suites use: linux-image-<ABI>-<flavour>-unsigned
// (bookworm), linux-image-<ABI>-<flavour> (signed; holds boot/vmlinuz up
// to 6.18) and linux-binary-<ABI>-<flavour> (6.19 on: the image is
// usr/lib/modules/<release>/vmlinuz). ABI is 6.1.0-57 or 6.12.90+deb12.1.
var kernelPkgRE = regexp.MustCompile(`^linux-(image|binary)-(([0-9]+)\.([0-9]+)\.[0-9]+(?:-[0-9]+|\+[a-z0-9.]+))-([a-z0-9-]+?)(-unsigned)?$`)

// kernelPkg is a parsed kernel package name.
type kernelPkg struct {
	kind     string // "image" or "binary"
	series   string // "6.18"
	release  string // "6.18.15+deb13-cloud-amd64"
	flavour  string
	unsigned bool
}

func parseKernelPkg(name string) (kernelPkg, bool) {
	m := kernelPkgRE.FindStringSubmatch(name)
	if m == nil || strings.HasSuffix(m[5], "-dbg") || m[5] == "dbg" {
		return kernelPkg{}, false
	}
	return kernelPkg{kind: m[1], series: m[3] + "." + m[4], release: m[2] + "-" + m[5], flavour: m[5], unsigned: m[6] != ""}, true
}

// FamilyMatch reports whether series ("6.18") belongs to family: the same
// series, or its major version when family has no dot ("7" holds 7.0, 7.3).
func FamilyMatch(family, series string) bool {
	if strings.Contains(family, ".") {
		return family == series
	}
	return strings.HasPrefix(series, family+".")
}

// Kernels lists the kernels of one flavour in the archive's suites (suite
// empty: all of them), oldest first by Debian version, one Candidate per
// kernel release: the package that holds its image (linux-binary where
// there is one, else the unsigned image, else the signed one), with the
// suite apt takes it from. The lists are refreshed first if stale.
func (a *Archive) Kernels(ctx context.Context, flavour, suite string) ([]Candidate, error) {
	if flavour == "" {
		flavour = DefaultFlavour
	}
	if suite == AllSuites {
		suite = ""
	}
	if suite != "" && !slices.Contains(KnownSuites, suite) {
		return nil, fmt.Errorf("suite %q is not one kharness reads (%s)", suite, strings.Join(KnownSuites, ", "))
	}
	if err := a.Update(ctx, false); err != nil {
		return nil, err
	}
	all, err := a.allKernels(ctx, flavour)
	if err != nil {
		return nil, err
	}
	var cands []Candidate
	for _, c := range all {
		if suite == "" || c.Suite == suite {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("listing Debian's kernels: no %s kernel in suite %s (%s)", flavour, suite, updateHint)
	}
	return cands, nil
}

// listed remembers allKernels's answer for a flavour and a state of the
// lists (their update stamp), so that a config of ten families asks apt
// once.
var listed sync.Map // "dir\x00flavour\x00stamp" -> []Candidate

// allKernels is Kernels of every suite, from apt or from listed.
func (a *Archive) allKernels(ctx context.Context, flavour string) ([]Candidate, error) {
	stamp, _ := os.ReadFile(filepath.Join(a.Dir, "updated"))
	key := a.Dir + "\x00" + flavour + "\x00" + string(stamp)
	if v, ok := listed.Load(key); ok {
		return slices.Clone(v.([]Candidate)), nil
	}
	pattern := `^linux-(image|binary)-[0-9].*-` + regexp.QuoteMeta(flavour) + `(-unsigned)?$`
	out, err := aptCache(ctx, append(a.aptOptions(), "search", "--full", "--names-only", pattern)...)
	if err != nil {
		return nil, fmt.Errorf("listing Debian's kernels: %w", err)
	}
	best := map[string]Candidate{} // by release
	rank := map[string]int{}
	var names []string
	for _, c := range parseCandidates(out) {
		kp, ok := parseKernelPkg(c.Package)
		if !ok || kp.flavour != flavour {
			continue
		}
		r := 1 // signed image
		switch {
		case kp.kind == "binary":
			r = 3
		case kp.unsigned:
			r = 2
		}
		if r > rank[kp.release] {
			c.Release = kp.release
			best[kp.release], rank[kp.release] = c, r
		}
	}
	for _, c := range best {
		names = append(names, c.Package)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("listing Debian's kernels: no %s kernel in %s (%s)", flavour, strings.Join(KnownSuites, ", "), updateHint)
	}
	suites, err := a.suitesOf(ctx, names)
	if err != nil {
		return nil, err
	}
	var cands []Candidate
	for _, c := range best {
		c.Suite = suites[c.Package]
		cands = append(cands, c)
	}
	sortCandidates(cands)
	listed.Store(key, slices.Clone(cands))
	return cands, nil
}

// Family is Kernels limited to one family ("6.18", or "7" for every 7.x).
func (a *Archive) Family(ctx context.Context, family, flavour, suite string) ([]Candidate, error) {
	all, err := a.Kernels(ctx, flavour, suite)
	if err != nil {
		return nil, err
	}
	var cands []Candidate
	for _, c := range all {
		if kp, ok := parseKernelPkg(c.Package); ok && FamilyMatch(family, kp.series) {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		where := "Debian's suites (" + strings.Join(KnownSuites, ", ") + ")"
		if suite != "" && suite != AllSuites {
			where = "suite " + suite
		}
		return nil, fmt.Errorf("no %s kernel of family %s in %s (%s)", flavourOr(flavour), family, where, updateHint)
	}
	return cands, nil
}

func flavourOr(f string) string {
	if f == "" {
		return DefaultFlavour
	}
	return f
}

// suitesOf asks apt which suite each package's candidate version comes
// from (`apt-cache policy`: the version table's first line after the
// candidate names its URI and suite).
func (a *Archive) suitesOf(ctx context.Context, pkgs []string) (map[string]string, error) {
	out, err := aptCache(ctx, append(append(a.aptOptions(), "policy"), pkgs...)...)
	if err != nil {
		return nil, fmt.Errorf("listing Debian's kernels: %w", err)
	}
	return parsePolicySuites(out), nil
}

// Resolve is Resolve for a source looked up in the archive: the newest
// kernel of s.Family, or s.Package, in s.Suite (or any suite).
func (a *Archive) Resolve(ctx context.Context, s Source) (Candidate, error) {
	if s.Family != "" {
		cands, err := a.Family(ctx, s.Family, s.Flavour, s.Suite)
		if err != nil {
			return Candidate{}, err
		}
		c := cands[len(cands)-1]
		a.logf("kernel %s: %s %s from %s", s, c.Package, c.Version, c.Suite)
		return c, nil
	}
	kp, ok := parseKernelPkg(s.Package)
	if !ok {
		return Candidate{}, fmt.Errorf("package %s is not a kernel image package (linux-image-<ABI>-<flavour>[-unsigned] or linux-binary-<ABI>-<flavour>)", s.Package)
	}
	all, err := a.Kernels(ctx, kp.flavour, s.Suite)
	if err != nil {
		return Candidate{}, err
	}
	for _, c := range all {
		if c.Package == s.Package || c.Release == kp.release {
			if c.Package != s.Package {
				// The named package is the signed meta of a release whose
				// image another package holds: fetch that one, with the
				// named package's verification of the index.
				a.logf("kernel %s: the image is in %s", s.Package, c.Package)
			}
			return c, nil
		}
	}
	where := "any suite"
	if s.Suite != "" && s.Suite != AllSuites {
		where = "suite " + s.Suite
	}
	return Candidate{}, fmt.Errorf("package %s is not in %s (%s)", s.Package, where, updateHint)
}
