package kernels

import (
	"context"
	"fmt"
	"os"
)

// ResolvePackages is apt's candidate of each package name (or
// PKG=VERSION), in order, with the sha256 of its .deb.
func ResolvePackages(ctx context.Context, pkgs ...string) ([]Candidate, error) {
	return showCandidates(ctx, nil, pkgs...)
}

// DownloadDeb downloads apt's candidate version of package pkg (or
// PKG=VERSION) into dir, which must be empty and private to the caller,
// checks the file against the sha256 apt's signed indexes give, and
// returns the candidate and the .deb's path. Nothing is installed: this is
// how kharness takes files out of a Debian package, as it does kernels.
func DownloadDeb(ctx context.Context, dir, pkg string) (Candidate, string, error) {
	cands, err := showCandidates(ctx, nil, pkg)
	if err != nil {
		return Candidate{}, "", fmt.Errorf("downloading %s: %w", pkg, err)
	}
	cand := cands[0]
	if !sha256RE.MatchString(cand.SHA256) {
		return Candidate{}, "", fmt.Errorf("downloading %s: apt-cache show %s=%s has no SHA256 field", pkg, cand.Package, cand.Version)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Candidate{}, "", err
	}
	deb, err := aptDownload(ctx, dir, cand.Package, cand.Version, nil)
	if err != nil {
		return Candidate{}, "", err
	}
	if err := verifySHA256(deb, cand.SHA256); err != nil {
		os.Remove(deb)
		return Candidate{}, "", fmt.Errorf("verifying the downloaded %s: %w", cand.Package, err)
	}
	return cand, deb, nil
}
