package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kharness/kernels"
)

func TestAttributeUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"attribute"}, exitUsage, "usage: kharness attribute"},
		{[]string{"attribute", "-a", "6.1"}, exitUsage, "usage: kharness attribute"},
		{[]string{"attribute", "-a", "6.1", "-b", "6.12", "extra"}, exitUsage, "usage: kharness attribute"},
		{[]string{"attribute", "-a", "6.1", "-b", "6.12", "-bench", "("}, exitUsage, "-bench"},
		{[]string{"attribute", "-a", "6.1", "-b", "6.12", "-boots", "0"}, exitUsage, "-boots"},
		{[]string{"attribute", "-a", "no-such-kernel", "-b", "6.12"}, exitError, `-a: kernel "no-such-kernel"`},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, &stdout, &stderr)
		code := exitCode(err, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("kharness %q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}

// TestAttributeKernel: -a and -b take what shell takes, a family getting
// -flavour.
func TestAttributeKernel(t *testing.T) {
	img := filepath.Join(t.TempDir(), "bzImage")
	os.WriteFile(img, []byte("not read here"), 0o644)
	for arg, want := range map[string]kernels.Source{
		"6.1":  {Family: "6.1", Flavour: "amd64"},
		"6.12": {Family: "6.12", Flavour: "amd64"},
		"linux-image-6.1.0-57-cloud-amd64-unsigned": {Package: "linux-image-6.1.0-57-cloud-amd64-unsigned"},
		img: {Path: img},
	} {
		got, err := attributeKernel(context.Background(), arg, "amd64")
		if err != nil || got != want {
			t.Errorf("attributeKernel(%q) = %+v, %v; want %+v", arg, got, err, want)
		}
	}
}
