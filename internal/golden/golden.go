// Package golden compares what a test printed with a file kept beside the
// test, the one way kharness's tests pin their output: `go test -update`
// rewrites the files, and the diff of a change's goldens is what a reviewer
// reads to see what a user will see differently.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with what the tests print")

// Check compares got with the file at path (relative to the test's package
// directory). With -update it writes got there instead.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file %s (go test -update writes it): %v", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (rerun with -update if the change is meant):\n%s", path, diff(want, got))
	}
}

// diff names the first line that differs and shows it both ways, with the
// whole output after it: enough to see what changed without a diff tool.
func diff(want, got []byte) string {
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q\ngot, whole:\n%s", i+1, w, g, got)
		}
	}
	return "(lengths differ only in a trailing newline)"
}
