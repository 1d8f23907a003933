package kernels

import (
	"kharness/internal/testenv"
	"strings"
	"testing"
)

// needApt skips integration tests where apt is missing or -short is given.
func needApt(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping apt integration test")
	}
	for _, tool := range []string{"apt-cache", "apt-get", "dpkg-deb"} {
		testenv.Need(t, "apt-get install -y apt dpkg", tool)
	}
}

func TestFamilyOf(t *testing.T) {
	tests := []struct{ name, flavour, want string }{
		{"linux-image-6.1.0-56-cloud-amd64-unsigned", "cloud-amd64", "6.1"},
		{"linux-image-6.12.117+deb12-cloud-amd64-unsigned", "cloud-amd64", "6.12"},
		{"linux-image-6.1.0-56-cloud-amd64-unsigned", "amd64", ""}, // ABI would be "6.1.0-56-cloud"
		{"linux-image-6.1.0-56-rt-amd64-unsigned", "amd64", ""},
		{"linux-image-6.1.0-56-amd64-unsigned", "amd64", "6.1"},
		{"linux-image-6.1.0-56-cloud-amd64", "cloud-amd64", ""}, // signed package
		{"linux-image-cloud-amd64", "cloud-amd64", ""},
		{"linux-headers-6.1.0-56-cloud-amd64-unsigned", "cloud-amd64", ""},
	}
	for _, tt := range tests {
		if got := familyOf(tt.name, tt.flavour); got != tt.want {
			t.Errorf("familyOf(%q, %q) = %q, want %q", tt.name, tt.flavour, got, tt.want)
		}
	}
}

func TestParseStanzas(t *testing.T) {
	out := "Package: a\nVersion: 1.0\nDescription: x\n more\n\nPackage: b\nVersion: 2:1.0-1\nSHA256: AB\n"
	st := parseStanzas([]byte(out))
	if len(st) != 2 || st[0]["Package"] != "a" || st[1]["Version"] != "2:1.0-1" || st[1]["SHA256"] != "AB" {
		t.Fatalf("parseStanzas = %v", st)
	}
}

func TestListFamily(t *testing.T) {
	needApt(t)
	t.Parallel()
	ctx := t.Context()
	for _, family := range []string{"6.1", "6.12"} {
		t.Run(family, func(t *testing.T) {
			t.Parallel()
			cands, err := ListFamily(ctx, family, "cloud-amd64")
			if err != nil {
				t.Fatalf("ListFamily(%s) = %v", family, err)
			}
			if len(cands) == 0 {
				t.Fatalf("ListFamily(%s) is empty", family)
			}
			for i, c := range cands {
				if familyOf(c.Package, "cloud-amd64") != family {
					t.Errorf("%s leaked into family %s", c.Package, family)
				}
				if !strings.HasPrefix(c.Upstream, family+".") || !strings.HasPrefix(c.Release, family+".") || !strings.HasSuffix(c.Release, "-cloud-amd64") {
					t.Errorf("candidate %+v: upstream/release not of family %s", c, family)
				}
				if len(c.SHA256) != 64 || c.Size <= 0 || c.Filename == "" {
					t.Errorf("candidate %+v lacks apt's sha256, size or filename", c)
				}
				if i > 0 && CompareVersions(cands[i-1].Version, c.Version) > 0 {
					t.Errorf("not sorted: %s before %s", cands[i-1].Version, c.Version)
				}
			}
			newest := cands[len(cands)-1]
			// Each apt-cache run costs a second or more here: check
			// Resolve of a family on 6.1 and of a package on 6.12.
			if family == "6.1" {
				got, err := newest61()
				if err != nil || got != newest {
					t.Errorf("Resolve(family 6.1) = %+v, %v; want the last candidate %+v", got, err, newest)
				}
				return
			}
			got, err := Resolve(ctx, Source{Package: newest.Package})
			if err != nil || got != newest {
				t.Errorf("Resolve(package %s) = %+v, %v; want %+v", newest.Package, got, err, newest)
			}
		})
	}
}

func TestListFamilyErrors(t *testing.T) {
	needApt(t)
	t.Parallel()
	ctx := t.Context()
	_, err := ListFamily(ctx, "1.99", "cloud-amd64")
	if err == nil || !strings.Contains(err.Error(), "apt-get update") {
		t.Errorf("ListFamily(1.99) = %v, want an error suggesting apt-get update", err)
	}
	if _, err := ListFamily(ctx, "6.1.0", ""); err == nil || !strings.Contains(err.Error(), "upstream series") {
		t.Errorf("ListFamily(6.1.0) = %v, want a validation error", err)
	}
	if _, err := Resolve(ctx, Source{Package: "linux-image-no-such-package-unsigned"}); err == nil {
		t.Errorf("Resolve(no such package) = nil error")
	}
}
