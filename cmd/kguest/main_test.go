//go:build linux

package main

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kharness/guest"
)

func TestRunHostFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"-o", path, "-run", "call=getppid$", "-benchtime", "20ms", "-count", "3"}, os.Stdout, &stderr); err != nil {
		t.Fatalf("%v: %s", err, stderr.Bytes())
	}
	out, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if lines[0] != "kharness-stream: 1" || !strings.HasPrefix(lines[len(lines)-1], "# kharness-end count=3 sha256=") {
		t.Errorf("stream:\n%s", out)
	}
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "BenchmarkNullSyscall/call=getppid ") && strings.Contains(l, " ns/op ") && strings.HasSuffix(l, " "+guest.RefUnit) {
			n++
		}
	}
	if n != 3 || !strings.Contains(string(out), "guest-benchtime: 20ms\n") {
		t.Errorf("%d result lines:\n%s", n, out)
	}
}

func TestRunStdoutProbe(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-mode", "probe"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v: %s", err, stderr.Bytes())
	}
	if !strings.Contains(stdout.String(), "\n# kharness-end count=0 sha256=") {
		t.Errorf("probe stream:\n%s", stdout.Bytes())
	}
}

func TestRunBadArgs(t *testing.T) {
	for _, args := range [][]string{
		{"-count", "x"},
		{"-benchtime", "0s"},
		{"-mode", "crash"}, // only with -guest
		{"-mode", "nosuch"},
		{"extra"},
	} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, &stdout, &stderr); err == nil || stdout.Len() != 0 {
			t.Errorf("run(%q) = %v, stdout %q", args, err, stdout.Bytes())
		}
	}
}

func TestStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "kguest")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("not static: has %v", p.Type)
		}
	}
}
