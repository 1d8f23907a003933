package kernels

import (
	"context"
	"encoding/json"
	"fmt"
	"kharness/internal/atomicfile"
	"kharness/internal/filelock"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// Kernel is a bzImage ready to boot.
type Kernel struct {
	Source     string `json:"source"`                // Source.String() of what the config named
	Package    string `json:"package,omitempty"`     // Debian package; empty for a local file
	Version    string `json:"version,omitempty"`     // Debian version; empty for a local file
	Release    string `json:"release"`               // from the bzImage header, e.g. "6.1.0-56-cloud-amd64"
	SHA256     string `json:"sha256"`                // of the bzImage
	Path       string `json:"path"`                  // the bzImage, inside the cache (or the local file)
	ConfigPath string `json:"config_path,omitempty"` // boot/config-* from the .deb, if it had one
	DebPath    string `json:"deb_path,omitempty"`    // the verified .deb, when the Cache keeps them
}

// Cache holds unpacked Debian kernels under Dir/kernels:
//
//	sha256/<hex of bzImage>/bzImage   content-addressed, read-only files
//	sha256/<hex of bzImage>/config    boot/config-* from the .deb, when present
//	debian/<package>_<version>.json   index: which bzImage a package version holds
//	debs/<package>_<version>_<arch>.deb  the verified .deb, with KeepDeb
//	locks/<package>_<version>.lock    flock while one process fetches
//	tmp/                              private download and staging directories
//
// Every entry appears by rename, so readers never see a partial file, and
// several processes may fetch at once: one downloads, the others wait and hit.
type Cache struct {
	Dir     string // empty means DefaultCacheDir()
	KeepDeb bool   // keep the verified .deb (its modules may be wanted later)
	// Downloaded, when not nil, holds the bytes of the download under way,
	// updated while apt-get runs, for progress lines.
	Downloaded *atomic.Int64
}

// DefaultCacheDir is $KHARNESS_CACHE, else $XDG_CACHE_HOME/kharness, else $HOME/.cache/kharness.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("KHARNESS_CACHE"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "kharness"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the kharness cache directory (set KHARNESS_CACHE): %w", err)
	}
	return filepath.Join(home, ".cache", "kharness"), nil
}

// indexEntry is the JSON in debian/<package>_<version>.json.
type indexEntry struct {
	Package   string    `json:"package"`
	Version   string    `json:"version"`
	Release   string    `json:"release"`
	SHA256    string    `json:"sha256"`        // of the bzImage: names its directory
	DebSHA256 string    `json:"deb_sha256"`    // of the .deb, as apt gave it and we checked it
	Config    bool      `json:"config"`        // the directory holds a config
	Deb       string    `json:"deb,omitempty"` // file name under debs/, when kept
	Fetched   time.Time `json:"fetched"`
}

// Fetch returns the kernel cand names, downloading and unpacking its package
// if the cache does not hold it yet; a cached kernel costs no apt call. For
// a Path source it validates the file (and its sha256, if s gives one) and
// returns it in place. s is what the config said (used for Kernel.Source and
// checked against cand); a zero s means the package itself.
func (c *Cache) Fetch(ctx context.Context, cand Candidate, s Source) (*Kernel, error) {
	if s.Path != "" {
		return fetchFile(s)
	}
	if s == (Source{}) {
		s = Source{Package: cand.Package}
	}
	if err := checkCandidate(cand, s); err != nil {
		return nil, fmt.Errorf("fetching kernel: %w", err)
	}
	root, err := c.root()
	if err != nil {
		return nil, fmt.Errorf("fetching kernel %s=%s: %w", cand.Package, cand.Version, err)
	}
	key := cacheKey(cand.Package, cand.Version)
	if k, ok := c.lookup(root, key, s); ok {
		return k, nil
	}
	for _, d := range []string{"debian", "locks", "tmp", "sha256", "debs"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, fmt.Errorf("fetching kernel %s=%s: creating the cache: %w", cand.Package, cand.Version, err)
		}
	}
	unlock, err := filelock.Lock(ctx, filepath.Join(root, "locks", key+".lock"))
	if err != nil {
		return nil, fmt.Errorf("fetching kernel %s=%s: %w", cand.Package, cand.Version, err)
	}
	defer unlock()
	if k, ok := c.lookup(root, key, s); ok {
		return k, nil // another process fetched it while we waited
	}
	k, err := c.fill(ctx, root, key, cand, s)
	if err != nil {
		return nil, fmt.Errorf("fetching kernel %s=%s: %w", cand.Package, cand.Version, err)
	}
	return k, nil
}

// checkCandidate rejects a Candidate that cannot be fetched safely or that
// does not belong to the source s.
func checkCandidate(cand Candidate, s Source) error {
	if !packageRE.MatchString(cand.Package) {
		return fmt.Errorf("package %q is not a Debian package name", cand.Package)
	}
	if !versionRE.MatchString(cand.Version) {
		return fmt.Errorf("version %q of %s is not a Debian version", cand.Version, cand.Package)
	}
	if err := s.Validate(); err != nil {
		return err
	}
	if s.Package != "" && s.Package != cand.Package {
		return fmt.Errorf("package %s does not belong to source %s", cand.Package, s)
	}
	if kp, ok := parseKernelPkg(cand.Package); s.Family != "" && (!ok || kp.flavour != s.FlavourOrDefault() || !FamilyMatch(s.Family, kp.series)) {
		return fmt.Errorf("package %s does not belong to source %s", cand.Package, s)
	}
	return nil
}

// cacheKey names a package version in file names; ':' (an epoch) is escaped.
func cacheKey(pkg, version string) string {
	return pkg + "_" + strings.ReplaceAll(version, ":", "%3a")
}

func (c *Cache) root() (string, error) {
	dir := c.Dir
	if dir == "" {
		var err error
		if dir, err = DefaultCacheDir(); err != nil {
			return "", err
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("finding the cache directory: %w", err)
	}
	return filepath.Join(abs, "kernels"), nil
}

// lookup returns the cached kernel for key if its index is there and its
// bzImage is intact (sha256 checked); anything else is a miss.
func (c *Cache) lookup(root, key string, s Source) (*Kernel, bool) {
	b, err := os.ReadFile(filepath.Join(root, "debian", key+".json"))
	if err != nil {
		return nil, false
	}
	var e indexEntry
	if err := json.Unmarshal(b, &e); err != nil || !sha256RE.MatchString(e.SHA256) {
		return nil, false
	}
	k := kernelFor(root, e, s)
	if k.DebPath != "" {
		if _, err := os.Stat(k.DebPath); err != nil {
			k.DebPath = ""
		}
	}
	if c.KeepDeb && k.DebPath == "" {
		return nil, false
	}
	if verifySHA256(k.Path, e.SHA256) != nil {
		return nil, false
	}
	return k, true
}

func kernelFor(root string, e indexEntry, s Source) *Kernel {
	dir := filepath.Join(root, "sha256", e.SHA256)
	k := &Kernel{
		Source:  s.String(),
		Package: e.Package,
		Version: e.Version,
		Release: e.Release,
		SHA256:  e.SHA256,
		Path:    filepath.Join(dir, "bzImage"),
	}
	if e.Config {
		k.ConfigPath = filepath.Join(dir, "config")
	}
	if e.Deb != "" {
		k.DebPath = filepath.Join(root, "debs", e.Deb)
	}
	return k
}

// fill downloads, verifies, unpacks and places one package version; the
// caller holds its lock.
func (c *Cache) fill(ctx context.Context, root, key string, cand Candidate, s Source) (*Kernel, error) {
	removeStale(filepath.Join(root, "tmp"), 24*time.Hour)
	work, err := os.MkdirTemp(filepath.Join(root, "tmp"), "fetch-")
	if err != nil {
		return nil, fmt.Errorf("creating a download directory: %w", err)
	}
	defer os.RemoveAll(work)

	var archive *Archive // nil: the system's apt lists
	if cand.Suite != "" {
		if archive, err = OpenArchive(c.Dir); err != nil {
			return nil, err
		}
		if err := archive.Update(ctx, false); err != nil {
			return nil, err
		}
	}
	deb, want, err := c.download(ctx, work, cand, archive)
	if err != nil {
		return nil, err
	}

	stage := filepath.Join(work, "stage")
	if err := os.Mkdir(stage, 0o755); err != nil {
		return nil, fmt.Errorf("creating a staging directory: %w", err)
	}
	boot, err := extractBoot(ctx, deb, stage)
	if err != nil {
		return nil, err
	}
	img, err := ReadBzImage(boot.bzImage)
	if err != nil {
		return nil, fmt.Errorf("validating boot/vmlinuz-%s: %w", boot.release, err)
	}
	if img.Release != boot.release {
		return nil, fmt.Errorf("validating boot/vmlinuz-%s: its header says release %q", boot.release, img.Release)
	}
	sum, err := SHA256File(boot.bzImage)
	if err != nil {
		return nil, err
	}
	if err := placeKernel(stage, filepath.Join(root, "sha256", sum), sum); err != nil {
		return nil, err
	}

	e := indexEntry{
		Package:   cand.Package,
		Version:   cand.Version,
		Release:   img.Release,
		SHA256:    sum,
		DebSHA256: want,
		Config:    boot.config != "",
		Fetched:   time.Now().UTC(),
	}
	if c.KeepDeb {
		e.Deb = filepath.Base(deb)
		if err := os.Rename(deb, filepath.Join(root, "debs", e.Deb)); err != nil {
			return nil, fmt.Errorf("keeping the .deb: %w", err)
		}
	}
	if err := writeIndex(filepath.Join(root, "debian", key+".json"), e); err != nil {
		return nil, err
	}
	return kernelFor(root, e, s), nil
}

// download fetches cand's .deb into work (through archive when not nil)
// and checks it against the sha256 apt's signed indexes give, which it
// returns with the file's path.
func (c *Cache) download(ctx context.Context, work string, cand Candidate, archive *Archive) (deb, sum string, err error) {
	stopWatch := c.watchDownload(work)
	deb, err = aptDownload(ctx, work, cand.Package, cand.Version, archive)
	stopWatch()
	if err != nil {
		return "", "", err
	}
	want := cand.SHA256 // from apt-cache, when cand came from ListFamily or Resolve
	if want == "" {
		exact, err := showCandidates(ctx, archive, cand.Package+"="+cand.Version)
		if err != nil {
			return "", "", fmt.Errorf("asking apt for the sha256 of the .deb: %w", err)
		}
		want = exact[0].SHA256
	}
	if !sha256RE.MatchString(want) {
		return "", "", fmt.Errorf("asking apt for the sha256 of the .deb: apt-cache show %s=%s has no SHA256 field", cand.Package, cand.Version)
	}
	if err := verifySHA256(deb, want); err != nil {
		return "", "", fmt.Errorf("verifying the downloaded .deb: %w", err)
	}
	return deb, want, nil
}

// placeKernel renames the staging directory to dest, its content-addressed
// home. If dest already holds an intact copy (the same bzImage from another
// package, or a fetch that died before writing its index) that copy stays.
func placeKernel(stage, dest, sum string) error {
	err := os.Rename(stage, dest)
	if err == nil {
		return nil
	}
	if verifySHA256(filepath.Join(dest, "bzImage"), sum) == nil {
		return nil
	}
	if err := os.RemoveAll(dest); err != nil {
		return fmt.Errorf("replacing the damaged cache entry %s: %w", dest, err)
	}
	if err := os.Rename(stage, dest); err != nil {
		return fmt.Errorf("placing the kernel in the cache: %w", err)
	}
	return nil
}

// writeIndex writes an index entry atomically (temp file, then rename).
func writeIndex(path string, e indexEntry) error {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the cache index: %w", err)
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the cache index: %w", err)
	}
	return nil
}
