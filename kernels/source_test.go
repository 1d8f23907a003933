package kernels

import (
	"strings"
	"testing"
)

func TestSourceValidate(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	tests := []struct {
		name    string
		src     Source
		wantErr string // substring; "" means valid
	}{
		{"package", Source{Package: "linux-image-6.1.0-56-cloud-amd64-unsigned"}, ""},
		{"package 6.12", Source{Package: "linux-image-6.12.117+deb12-cloud-amd64-unsigned"}, ""},
		{"family", Source{Family: "6.1"}, ""},
		{"family flavour", Source{Family: "6.12", Flavour: "rt-amd64"}, ""},
		{"path", Source{Path: "/boot/vmlinuz"}, ""},
		{"path sha", Source{Path: "bzImage", SHA256: sum}, ""},
		{"path sha upper", Source{Path: "bzImage", SHA256: strings.ToUpper(sum)}, ""},
		{"none", Source{}, "none of package, family, path"},
		{"flavour only", Source{Flavour: "amd64"}, "none of package, family, path"},
		{"package and family", Source{Package: "linux-image-x", Family: "6.1"}, "package, family are all set"},
		{"all three", Source{Package: "p1", Family: "6.1", Path: "/x"}, "package, family, path are all set"},
		{"package uppercase", Source{Package: "Linux-image"}, "not a Debian package name"},
		{"package underscore", Source{Package: "linux_image"}, "not a Debian package name"},
		{"package version pin", Source{Package: "linux-image-x=1.0"}, "not a Debian package name"},
		{"package space", Source{Package: "linux image"}, "not a Debian package name"},
		{"package slash", Source{Package: "../etc"}, "not a Debian package name"},
		{"package leading dash", Source{Package: "-linux"}, "not a Debian package name"},
		{"package one char", Source{Package: "l"}, "not a Debian package name"},
		{"family three parts", Source{Family: "6.1.0"}, "not an upstream series"},
		{"family major", Source{Family: "7"}, ""},
		{"family suite unknown", Source{Family: "7", Suite: "woody"}, "not one kharness reads"},
		{"suite with path", Source{Path: "/x", Suite: "sid"}, "only meaningful"},
		{"family letters", Source{Family: "six.one"}, "not an upstream series"},
		{"family v prefix", Source{Family: "v6.1"}, "not an upstream series"},
		{"bad flavour", Source{Family: "6.1", Flavour: "Cloud_AMD64"}, "not a Debian kernel flavour"},
		{"flavour with package", Source{Package: "linux-image-x", Flavour: "amd64"}, "only meaningful with family"},
		{"sha with package", Source{Package: "linux-image-x", SHA256: sum}, "only checked for path"},
		{"short sha", Source{Path: "/x", SHA256: "abc"}, "not 64 hex digits"},
		{"non-hex sha", Source{Path: "/x", SHA256: strings.Repeat("zz", 32)}, "not 64 hex digits"},
		{"nul path", Source{Path: "a\x00b"}, "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.src.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Validate() = nil, want error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSourceStringRoundTrip(t *testing.T) {
	tests := []struct {
		src  Source
		want string
	}{
		{Source{Package: "linux-image-6.1.0-56-cloud-amd64-unsigned"}, "debian:linux-image-6.1.0-56-cloud-amd64-unsigned"},
		{Source{Family: "6.1"}, "family:6.1/cloud-amd64"},
		{Source{Family: "6.12", Flavour: "amd64"}, "family:6.12/amd64"},
		{Source{Path: "/tmp/bzImage"}, "file:/tmp/bzImage"},
		{Source{Family: "7"}, "family:7/cloud-amd64"},
		{Source{Family: "6.18", Suite: "trixie-backports"}, "family:6.18/cloud-amd64@trixie-backports"},
		{Source{Package: "linux-binary-7.3.4+deb13-cloud-amd64", Suite: "trixie-backports"}, "debian:linux-binary-7.3.4+deb13-cloud-amd64@trixie-backports"},
	}
	for _, tt := range tests {
		if got := tt.src.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.src, got, tt.want)
		}
		back, err := ParseSource(tt.want)
		if err != nil {
			t.Fatalf("ParseSource(%q): %v", tt.want, err)
		}
		if back.String() != tt.want {
			t.Errorf("ParseSource(%q).String() = %q", tt.want, back.String())
		}
	}
	for _, bad := range []string{"", "debian:", "family:6.1.2", "family:6.1@", "family:6.1@nosuch", "http://x", "file", "debian:Bad_Name", "family:6.1/"} {
		if _, err := ParseSource(bad); err == nil {
			t.Errorf("ParseSource(%q) = nil error, want one", bad)
		}
	}
}
