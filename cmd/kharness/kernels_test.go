package main

import (
	"bytes"
	"strings"
	"testing"

	"kharness/kernels"
)

// TestWriteKernelsControlChars: a cached apt index is outside text; a
// Version: (or any field) with escape sequences reaches the terminal with
// its control characters replaced.
func TestWriteKernelsControlChars(t *testing.T) {
	evil := "6.1.1\x1b]0;TITLE\a\x1b[31m"
	var b bytes.Buffer
	err := writeKernels(&b, []kernels.Candidate{{Package: "linux-image-6.1.0-57-cloud-amd64-unsigned", Version: evil, Upstream: evil, Release: "6.1.0-57-cloud-amd64", Suite: "bookworm" + "\x1b[2J"}})
	if out := b.String(); err != nil || strings.ContainsAny(out, "\x1b\a") || !strings.Contains(out, "6.1.1?]0;TITLE??[31m") {
		t.Errorf("writeKernels printed %q, %v; want the control characters replaced", out, err)
	}
}
