package main

import (
	"bytes"
	"strings"
	"testing"

	"kharness/internal/testenv"
)

// doctor names what this host offers and, with a QEMU that is not there,
// fails naming the package that installs it.
func TestDoctor(t *testing.T) {
	testenv.Need(t, "apt-get install -y qemu-system-x86", "qemu-system-x86_64")
	var out, errb bytes.Buffer
	if err := run(t.Context(), []string{"doctor", "-cache", t.TempDir()}, &out, &errb); err != nil {
		t.Fatalf("doctor: %v\n%s%s", err, out.String(), errb.String())
	}
	for _, want := range []string{"ok  QEMU", "QEMU emulator version", "TCG plugins", "KVM", "automatic -j", "cache"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor's report lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	err := run(t.Context(), []string{"doctor", "-qemu", "no-such-qemu", "-cache", t.TempDir()}, &out, &errb)
	if err == nil || !strings.Contains(out.String(), "MISSING") || !strings.Contains(out.String(), "apt-get install -y qemu-system-x86") {
		t.Errorf("doctor without QEMU: %v\n%s", err, out.String())
	}
}
