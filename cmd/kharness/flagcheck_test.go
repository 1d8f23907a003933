package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestBootFlagsRefusedAtOnce: a flag that becomes a key of the config
// bisect, attribute or mitigations writes is checked by the config's rule
// before anything else: exit 2 naming the flag, with no apt call or boot
// (there is no apt-get, apt-cache or QEMU on PATH here, so one would
// fail with exit 1) and no generated file named.
func TestBootFlagsRefusedAtOnce(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("KHARNESS_CACHE", t.TempDir())
	bisect := []string{"bisect", "-good", "6.1.0-47", "-bad", "6.1.0-57", "-o", t.TempDir()}
	attribute := []string{"attribute", "-a", "6.1", "-b", "6.12", "-o", t.TempDir()}
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{append(bisect, "-metric", "insns", "-bench", "("), "-bench"},
		{append(bisect, "-alpha", "7"), "-alpha"},
		{append(bisect, "-boots", "0"), "-boots"},
		{append(bisect, "-count", "0"), "-count"},
		{append(bisect, "-max-boots", "0"), "-max-boots"},
		{append(bisect, "-benchtime", "0s"), "-benchtime"},
		{append(attribute, "-boots", "100000"), "-boots"},
		{append(attribute, "-benchtime", "abc"), "-benchtime"},
		{append(attribute, "-benchtime", "0s"), "-benchtime"},
		{append(attribute, "-bench", "a b"), "-bench"},
		{append(attribute, "-cmdline", "a\nb"), "-cmdline"},
		{append(attribute, "-cmdline", "kharness.insns=0"), "-cmdline"},
		{[]string{"mitigations", "-o", t.TempDir(), "-bench", "NullSyscall Read", "6.12"}, "-bench"},
	} {
		var stdout, stderr bytes.Buffer
		t0 := time.Now()
		code := exitCode(run(context.Background(), tc.args, &stdout, &stderr), &stderr)
		msg := stderr.String()
		if code != exitUsage || !strings.Contains(msg, "kharness: "+tc.flag+" ") || strings.Contains(msg, ".toml") {
			t.Errorf("kharness %q: exit %d, stderr %q; want exit %d naming %s and no generated file", tc.args, code, msg, exitUsage, tc.flag)
		}
		if d := time.Since(t0); d > 5*time.Second {
			t.Errorf("kharness %q took %v: want a refusal at once", tc.args, d)
		}
	}
}
