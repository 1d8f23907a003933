// Package testenv is what kharness's tests need from the machine: a test
// that needs a host tool skips, saying which, where a developer lacks it,
// and fails under CI (CI=true), whose .ci/run installs every tool: there a
// skip would hide a missing install step.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI.
func InCI() bool { return os.Getenv("CI") == "true" }

// Need returns the path of the first of names found on PATH. When none is,
// the test fails under CI and is skipped elsewhere, with install as the
// way to get it.
func Need(t testing.TB, install string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	Missing(t, names[0]+" not found: "+install)
	return ""
}

// Missing fails the test under CI and skips it elsewhere, with msg.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if InCI() {
		t.Fatal(msg + " (CI installs it: a skip here would hide a missing install step)")
	}
	t.Skip(msg)
}
