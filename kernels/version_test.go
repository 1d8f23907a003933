package kernels

import (
	"kharness/internal/testenv"
	"os/exec"
	"testing"
)

// versionOrder holds pairs with a < b (or equal when eq is set).
var versionOrder = []struct {
	a, b   string
	eq     bool
	noDpkg bool // dpkg rejects the version (epoch too large)
}{
	{a: "6.12.9", b: "6.12.10"},
	{a: "6.1.192-2", b: "6.12.117-1~deb12u1"},
	{a: "6.12.115-1~deb12u1", b: "6.12.117-1~deb12u1"},
	{a: "6.12.117-1~deb12u1", b: "6.12.117-1"},
	{a: "6.12.117-1", b: "6.12.117-1+b1"},
	{a: "6.1.0-9", b: "6.1.0-10"},
	{a: "1.0~rc1", b: "1.0"},
	{a: "1.0~~", b: "1.0~"},
	{a: "1.0~", b: "1.0"},
	{a: "1.0", b: "1.0a"},
	{a: "1.0a", b: "1.0+"},
	{a: "1.0a", b: "1.0."},
	{a: "1.0", b: "1.0.1"},
	{a: "1.0", b: "1:0.1"},
	{a: "1:9.9", b: "2:0.1"},
	{a: "9:1.0", b: "10:0.1"},
	{a: "1.0-1", b: "1.0-2"},
	{a: "1.0-9", b: "1.0-10"},
	{a: "1.0-1", b: "1.0.0-1"},
	{a: "1.0", b: "1.0-0", eq: true},
	{a: "0:1.0", b: "1.0", eq: true},
	{a: "1.01", b: "1.1", eq: true},
	{a: "6.1.192-2", b: "6.1.192-2", eq: true},
	{a: "1.2.3-a-b", b: "1.2.3-a-c"},
	{a: "99999999999999999999999", b: "100000000000000000000000"},
	{a: "99999999999999999999999:1", b: "100000000000000000000000:0", noDpkg: true},
}

func TestCompareVersions(t *testing.T) {
	for _, tt := range versionOrder {
		want := -1
		if tt.eq {
			want = 0
		}
		if got := CompareVersions(tt.a, tt.b); got != want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, want)
		}
		if got := CompareVersions(tt.b, tt.a); got != -want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.b, tt.a, got, -want)
		}
	}
}

// TestCompareVersionsDpkg checks the table against dpkg itself, where installed.
func TestCompareVersionsDpkg(t *testing.T) {
	testenv.Need(t, "apt-get install -y dpkg", "dpkg")
	for _, tt := range versionOrder {
		if tt.noDpkg {
			continue
		}
		op := "lt"
		if tt.eq {
			op = "eq"
		}
		if err := exec.Command("dpkg", "--compare-versions", tt.a, op, tt.b).Run(); err != nil {
			t.Errorf("dpkg --compare-versions %q %s %q disagrees: %v", tt.a, op, tt.b, err)
		}
	}
}

func TestCompareReleases(t *testing.T) {
	ordered := []string{"6.1.0-9-cloud-amd64", "6.1.0-56-cloud-amd64", "6.12.9+deb12-cloud-amd64", "6.12.10+deb12-cloud-amd64", "6.12.117+deb12-cloud-amd64"}
	for i := range ordered {
		for j := range ordered {
			if got, want := CompareReleases(ordered[i], ordered[j]), sign(i-j); got != want {
				t.Errorf("CompareReleases(%q, %q) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}

func TestUpstreamVersion(t *testing.T) {
	for v, want := range map[string]string{
		"6.12.117-1~deb12u1": "6.12.117",
		"6.1.192-2":          "6.1.192",
		"1:2.3-4-5":          "2.3-4",
		"7.0":                "7.0",
	} {
		if got := UpstreamVersion(v); got != want {
			t.Errorf("UpstreamVersion(%q) = %q, want %q", v, got, want)
		}
	}
}

func FuzzCompareVersions(f *testing.F) {
	for _, tt := range versionOrder {
		f.Add(tt.a, tt.b)
	}
	f.Add("", "~")
	f.Add("a:1", "0:a:1")
	f.Add("\xff", "~~")
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := CompareVersions(a, b), CompareVersions(b, a)
		if ab != -ba {
			t.Fatalf("CompareVersions(%q, %q) = %d but CompareVersions(%q, %q) = %d", a, b, ab, b, a, ba)
		}
		if ab < -1 || ab > 1 {
			t.Fatalf("CompareVersions(%q, %q) = %d, want -1, 0 or 1", a, b, ab)
		}
		if c := CompareVersions(a, a); c != 0 {
			t.Fatalf("CompareVersions(%q, %q) = %d, want 0", a, a, c)
		}
		if r, s := CompareReleases(a, b), CompareReleases(b, a); r != -s {
			t.Fatalf("CompareReleases(%q, %q) = %d but reversed %d", a, b, r, s)
		}
	})
}
