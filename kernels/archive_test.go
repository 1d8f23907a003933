package kernels

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"kharness/internal/testenv"
)

func TestParseKernelPkg(t *testing.T) {
	for _, tc := range []struct {
		name        string
		ok          bool
		series, rel string
		kind        string
		unsigned    bool
	}{
		{"linux-image-6.1.0-57-cloud-amd64-unsigned", true, "6.1", "6.1.0-57-cloud-amd64", "image", true},
		{"linux-image-6.12.90+deb12.1-cloud-amd64", true, "6.12", "6.12.90+deb12.1-cloud-amd64", "image", false},
		{"linux-image-6.16.3+deb13-cloud-amd64", true, "6.16", "6.16.3+deb13-cloud-amd64", "image", false},
		{"linux-binary-7.3.4+deb13-cloud-amd64", true, "7.3", "7.3.4+deb13-cloud-amd64", "binary", false},
		{"linux-image-7.3.4+deb13-cloud-amd64-dbg", false, "", "", "", false},
		{"linux-image-cloud-amd64", false, "", "", "", false},
		{"linux-image-6.12-cloud-amd64", false, "", "", "", false},
		{"linux-headers-6.1.0-57-cloud-amd64", false, "", "", "", false},
	} {
		kp, ok := parseKernelPkg(tc.name)
		if ok != tc.ok || kp.series != tc.series || kp.release != tc.rel || kp.kind != tc.kind || kp.unsigned != tc.unsigned {
			t.Errorf("parseKernelPkg(%q) = %+v, %v", tc.name, kp, ok)
		}
	}
	if !FamilyMatch("7", "7.3") || FamilyMatch("7", "6.7") || !FamilyMatch("6.1", "6.1") || FamilyMatch("6.1", "6.12") || FamilyMatch("6", "60.1") {
		t.Error("FamilyMatch")
	}
}

func TestParsePolicy(t *testing.T) {
	policy := `Package files:
 100 /var/lib/dpkg/status
     release a=now
 500 http://mirror.example/debian-security bookworm-security/main amd64 Packages
     release v=12,o=Debian,a=oldstable-security,n=bookworm-security,l=Debian-Security,c=main,b=amd64
     origin mirror.example
 500 http://mirror.example/debian bookworm/main amd64 Packages
     release v=12.14,o=Debian,a=oldstable,n=bookworm,l=Debian,c=main,b=amd64
`
	m := parsePolicyMirrors([]byte(policy))
	if m.Debian != "http://mirror.example/debian" || m.Security != "http://mirror.example/debian-security" {
		t.Errorf("parsePolicyMirrors = %+v", m)
	}
	pkgs := `linux-binary-7.3.4+deb13-cloud-amd64:
  Installed: (none)
  Candidate: 7.3.4-1~bpo13+1
  Version table:
     7.3.4-1~bpo13+1 100
        100 http://mirror.example/debian trixie-backports/main amd64 Packages
linux-image-6.1.0-57-cloud-amd64-unsigned:
  Installed: (none)
  Candidate: 6.1.176-1
  Version table:
     6.1.176-1 500
        500 http://mirror.example/debian-security bookworm-security/main amd64 Packages
        500 http://mirror.example/debian bookworm/main amd64 Packages
`
	got := parsePolicySuites([]byte(pkgs))
	if got["linux-binary-7.3.4+deb13-cloud-amd64"] != "trixie-backports" || got["linux-image-6.1.0-57-cloud-amd64-unsigned"] != "bookworm-security" {
		t.Errorf("parsePolicySuites = %v", got)
	}
	if p := updateProblems([]byte("Hit:1 x\nW: GPG error: http://x trixie InRelease: The following signatures couldn't be verified\nW: Some index files failed to download\n")); len(p) != 1 {
		t.Errorf("updateProblems = %q, want the GPG line", p)
	}
}

// The archive reads Debian's suites beyond the system's lists, without
// touching the system's apt configuration, and finds kernels in the
// three packagings; a 7.x kernel (image in linux-binary) is fetched and
// validated as a bzImage.
func TestArchiveKernels(t *testing.T) {
	needApt(t)
	if _, err := os.Stat(archiveKeyring); err != nil {
		testenv.Missing(t, archiveKeyring+" is missing: apt-get install -y debian-archive-keyring")
	}
	sys, _ := os.ReadFile("/etc/apt/sources.list")
	cache := sharedCache
	a, err := OpenArchive(cache)
	if err != nil {
		t.Fatal(err)
	}
	all, err := a.Kernels(t.Context(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	perSuite := map[string]int{}
	var prev Candidate
	for i, c := range all {
		perSuite[c.Suite]++
		if i > 0 && CompareVersions(prev.Version, c.Version) > 0 {
			t.Errorf("not in version order: %s %s before %s %s", prev.Package, prev.Version, c.Package, c.Version)
		}
		prev = c
		if c.SHA256 == "" || c.Suite == "" || c.Release == "" {
			t.Errorf("incomplete candidate %+v", c)
		}
	}
	t.Logf("%d kernels: %v", len(all), perSuite)
	if perSuite["trixie-backports"] == 0 || perSuite["bookworm"]+perSuite["bookworm-security"] == 0 {
		t.Errorf("kernels per suite %v: want bookworm's and trixie-backports'", perSuite)
	}
	seven, err := a.Family(t.Context(), "7", "", "trixie-backports")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range seven {
		if !strings.HasPrefix(c.Upstream, "7.") || c.Suite != "trixie-backports" {
			t.Errorf("family 7 in trixie-backports has %s %s from %s", c.Package, c.Version, c.Suite)
		}
	}
	newest := seven[len(seven)-1]
	if !strings.HasPrefix(newest.Package, "linux-binary-") {
		t.Logf("newest 7.x is packaged as %s", newest.Package)
	}
	var downloaded atomic.Int64
	k, err := (&Cache{Dir: cache, Downloaded: &downloaded}).Fetch(t.Context(), newest, Source{Family: "7", Suite: "trixie-backports"})
	if err != nil {
		t.Fatal(err)
	}
	// A fetch that downloaded counted the .deb's bytes for the progress
	// line (a cache hit downloads nothing).
	if n := downloaded.Load(); n != 0 && n < newest.Size {
		t.Errorf("downloaded %d bytes of a %d-byte .deb", n, newest.Size)
	}
	img, err := ReadBzImage(k.Path)
	if err != nil || img.Release != newest.Release {
		t.Errorf("fetched %s: release %q, %v; want %s", newest.Package, img.Release, err, newest.Release)
	}
	if after, _ := os.ReadFile("/etc/apt/sources.list"); string(after) != string(sys) {
		t.Error("the system's sources.list changed")
	}
	if _, err := os.Stat(filepath.Join(cache, "apt", "sources.list")); err != nil {
		t.Error(err)
	}
}
