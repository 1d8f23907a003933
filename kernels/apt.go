package kernels

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Candidate is one Debian kernel package known to apt, at one version.
type Candidate struct {
	Package  string `json:"package"`            // e.g. "linux-image-6.12.117+deb12-cloud-amd64-unsigned"
	Version  string `json:"version"`            // Debian version, e.g. "6.12.117-1~deb12u1"
	Release  string `json:"release,omitempty"`  // kernel release from the package name, e.g. "6.12.117+deb12-cloud-amd64"
	Upstream string `json:"upstream,omitempty"` // upstream part of Version, e.g. "6.12.117"
	SHA256   string `json:"sha256,omitempty"`   // of the .deb, as apt's package lists give it
	Size     int64  `json:"size,omitempty"`     // of the .deb in bytes
	Filename string `json:"filename,omitempty"` // path of the .deb in the archive
	Suite    string `json:"suite,omitempty"`    // the Debian suite it was found in through the Archive; "" for the system's apt lists
}

// ListFamily asks apt-cache which linux-image-<ABI>-<flavour>-unsigned packages
// exist for an upstream series such as "6.1" or "6.12" (an empty flavour
// means DefaultFlavour), at apt's candidate version of each, sorted oldest
// first by Debian version ordering. Family "6.1" does not match "6.12".
func ListFamily(ctx context.Context, family, flavour string) ([]Candidate, error) {
	src := Source{Family: family, Flavour: flavour}
	if err := src.Validate(); err != nil {
		return nil, fmt.Errorf("listing kernel family: %w", err)
	}
	flavour = src.FlavourOrDefault()
	pattern := "^linux-image-" + regexp.QuoteMeta(family) + `\.[0-9].*-` + flavour + "-unsigned$"
	// One call: every apt-cache run may rebuild apt's cache (about a second
	// where pkgcache is disabled, as in Docker images), and --full gives the
	// candidate version's record of each match.
	out, err := aptCache(ctx, "search", "--full", "--names-only", pattern)
	if err != nil {
		return nil, fmt.Errorf("listing kernel family %s/%s: %w", family, flavour, err)
	}
	var cands []Candidate
	for _, c := range parseCandidates(out) {
		if FamilyMatch(family, familyOf(c.Package, flavour)) {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("listing kernel family %s/%s: apt knows no package matching %s; check the family and flavour, or refresh apt's lists with `apt-get update`", family, flavour, pattern)
	}
	sortCandidates(cands)
	return cands, nil
}

// abiRE matches the ABI part of a Debian kernel package name in both naming
// schemes: "6.1.0-56" (bookworm's 6.1) and "6.12.117+deb12" (backported 6.12).
var abiRE = regexp.MustCompile(`^([0-9]+\.[0-9]+)\.[0-9]+(-[0-9]+|\+[a-z0-9.]+)$`)

// familyOf returns the upstream series of linux-image-<ABI>-<flavour>-unsigned,
// or "" when name is not such a package.
func familyOf(name, flavour string) string {
	abi, ok := strings.CutPrefix(name, "linux-image-")
	if !ok {
		return ""
	}
	if abi, ok = strings.CutSuffix(abi, "-"+flavour+"-unsigned"); !ok {
		return ""
	}
	m := abiRE.FindStringSubmatch(abi)
	if m == nil {
		return ""
	}
	return m[1]
}

// releaseOf is the kernel release a linux-image package ships, from its name
// ("linux-image-6.1.0-56-cloud-amd64-unsigned" gives "6.1.0-56-cloud-amd64"),
// or "" for names that do not carry one (meta packages).
func releaseOf(pkg string) string {
	rel, ok := strings.CutPrefix(pkg, "linux-image-")
	if !ok {
		rel, ok = strings.CutPrefix(pkg, "linux-binary-")
	}
	if !ok || rel == "" || !isDigit(rel[0]) {
		return ""
	}
	return strings.TrimSuffix(rel, "-unsigned")
}

func sortCandidates(cands []Candidate) {
	sort.SliceStable(cands, func(i, j int) bool {
		if c := CompareVersions(cands[i].Version, cands[j].Version); c != 0 {
			return c < 0
		}
		return cands[i].Package < cands[j].Package
	})
}

// Resolve turns a Source into an exact package and version: a Family becomes
// the newest package of ListFamily, a Package its apt candidate version. A
// Path needs no apt: the Candidate has only the Release read from the file.
func Resolve(ctx context.Context, s Source) (Candidate, error) {
	if err := s.Validate(); err != nil {
		return Candidate{}, fmt.Errorf("resolving kernel: %w", err)
	}
	switch {
	case s.Path != "":
		img, err := ReadBzImage(s.Path)
		if err != nil {
			return Candidate{}, fmt.Errorf("resolving kernel %s: %w", s, err)
		}
		return Candidate{Release: img.Release}, nil
	case s.Suite != "":
		a, err := OpenArchive("")
		if err != nil {
			return Candidate{}, fmt.Errorf("resolving kernel %s: %w", s, err)
		}
		return a.Resolve(ctx, s)
	case s.Family != "":
		cands, err := ListFamily(ctx, s.Family, s.Flavour)
		if err != nil {
			// Not in the system's apt lists: look in every suite kharness
			// knows (a family such as 6.18 or 7 is only in backports).
			a, aerr := OpenArchive("")
			if aerr != nil {
				return Candidate{}, fmt.Errorf("resolving kernel %s: %w", s, err)
			}
			c, aerr := a.Resolve(ctx, s)
			if aerr != nil {
				return Candidate{}, fmt.Errorf("resolving kernel %s: %w; and in Debian's other suites: %v", s, err, aerr)
			}
			return c, nil
		}
		return cands[len(cands)-1], nil
	default:
		cands, err := showCandidates(ctx, nil, s.Package)
		if err != nil {
			return Candidate{}, fmt.Errorf("resolving kernel %s: %w", s, err)
		}
		return cands[0], nil
	}
}

// showCandidates runs `apt-cache show --no-all-versions` for package names or
// PKG=VERSION pairs and returns one Candidate per package, in apt's order.
func showCandidates(ctx context.Context, a *Archive, pkgs ...string) ([]Candidate, error) {
	args := append([]string{"show", "--no-all-versions"}, pkgs...)
	if a != nil {
		args = append(a.aptOptions(), args...)
	}
	out, err := aptCache(ctx, args...)
	if err != nil {
		return nil, err
	}
	cands := parseCandidates(out)
	if len(cands) < len(pkgs) {
		refresh := "refresh apt's lists with `apt-get update`"
		if a != nil {
			refresh = updateHint
		}
		return nil, fmt.Errorf("apt-cache show %s: %d of %d packages found; check the names, or %s", strings.Join(pkgs, " "), len(cands), len(pkgs), refresh)
	}
	return cands, nil
}

// parseCandidates reads apt-cache show records, keeping the first record of
// each package.
func parseCandidates(out []byte) []Candidate {
	var cands []Candidate
	seen := map[string]bool{}
	for _, st := range parseStanzas(out) {
		c := Candidate{
			Package:  st["Package"],
			Version:  st["Version"],
			SHA256:   strings.ToLower(st["SHA256"]),
			Filename: st["Filename"],
		}
		if c.Package == "" || c.Version == "" || seen[c.Package] {
			continue
		}
		seen[c.Package] = true
		c.Size, _ = strconv.ParseInt(st["Size"], 10, 64)
		c.Release = releaseOf(c.Package)
		c.Upstream = UpstreamVersion(c.Version)
		cands = append(cands, c)
	}
	return cands
}

// parseStanzas splits deb822 output (apt-cache show) into field maps.
// Continuation lines are dropped: no field read here spans lines.
func parseStanzas(out []byte) []map[string]string {
	var stanzas []map[string]string
	cur := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			if len(cur) > 0 {
				stanzas = append(stanzas, cur)
				cur = map[string]string{}
			}
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			cur[k] = strings.TrimSpace(v)
		}
	}
	if len(cur) > 0 {
		stanzas = append(stanzas, cur)
	}
	return stanzas
}

// aptCache runs apt-cache and returns its stdout; its stderr goes into the error.
func aptCache(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, aptCacheTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "apt-cache", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.WaitDelay = 5 * time.Second // apt's helpers may outlive a cancelled apt-cache
	out, err := cmd.Output()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("running apt-cache %s: no answer within %v: stopped", strings.Join(args, " "), aptCacheTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("running apt-cache %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// debDownloads counts runs of apt-get download in this process, so tests can
// tell a cache hit from a download.
var debDownloads atomic.Int64

// aptDownload runs `apt-get download PKG=VERSION` in dir, which must be
// private to the caller, and returns the path of the one .deb it wrote.
func aptDownload(ctx context.Context, dir, pkg, version string, archive *Archive) (string, error) {
	args := []string{"download"}
	if archive != nil {
		args = append(archive.aptOptions(), "download")
	} else if os.Geteuid() == 0 {
		// apt drops to the _apt user to download, which cannot write to a
		// private directory; say so up front instead of warning each time.
		args = append(args, "-o", "APT::Sandbox::User=root")
	}
	args = append(args, pkg+"="+version)
	ctx, cancel := context.WithTimeout(ctx, aptDownloadTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.WaitDelay = 5 * time.Second // apt's download methods may outlive a cancelled apt-get
	debDownloads.Add(1)
	if out, err := cmd.CombinedOutput(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("not done within %v: stopped", aptDownloadTimeout)
		}
		return "", fmt.Errorf("downloading %s=%s with apt-get: %w: %s", pkg, version, err, strings.TrimSpace(string(out)))
	}
	debs, err := filepath.Glob(filepath.Join(dir, "*.deb"))
	if err != nil {
		return "", fmt.Errorf("downloading %s=%s: %w", pkg, version, err)
	}
	if len(debs) != 1 {
		return "", fmt.Errorf("downloading %s=%s: apt-get download left %d .deb files, want 1", pkg, version, len(debs))
	}
	return debs[0], nil
}
