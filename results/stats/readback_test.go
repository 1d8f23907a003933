package stats

import (
	"kharness/results/internal/fakerun"
	"kharness/results/store"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// compareWithin runs Compare on dirs and fails the test if it takes more
// than 10 s (a FIFO or /dev/zero read to the end never returns).
func compareWithin(t *testing.T, dirs ...string) (*Table, error) {
	t.Helper()
	type res struct {
		tab *Table
		err error
	}
	ch := make(chan res, 1)
	go func() {
		tab, err := Compare(dirs, CompareOptions{Column: "kernel"})
		ch <- res{tab, err}
	}()
	select {
	case r := <-ch:
		return r.tab, r.err
	case <-time.After(10 * time.Second):
		t.Fatal("Compare did not return within 10 s")
		return nil, nil
	}
}

// TestReadBackNotAFile: a boot.bench or boot.json that is a link to
// /dev/zero, or a FIFO nobody writes, is an error naming it, at once.
func TestReadBackNotAFile(t *testing.T) {
	for _, kind := range []string{"symlink", "fifo"} {
		for _, file := range []string{store.BenchFile, store.BootFile} {
			t.Run(kind+"-"+file, func(t *testing.T) {
				dirs := fakerun.BenchRun(t, "ns/op", []float64{100, 101, 102, 103, 104}, []float64{200, 201, 202, 203, 204})
				path := filepath.Join(filepath.Dir(fakerun.BenchPath(dirs[0], 1)), file)
				os.Remove(path)
				var err error
				if kind == "symlink" {
					err = os.Symlink("/dev/zero", path)
				} else {
					err = syscall.Mkfifo(path, 0o644)
				}
				if err != nil {
					t.Fatal(err)
				}
				tab, err := compareWithin(t, dirs...)
				text := ""
				if err != nil {
					text = err.Error()
				} else {
					text = strings.Join(tab.Warnings, "\n")
				}
				if !strings.Contains(text, "symbolic link") && !strings.Contains(text, "not a regular file") {
					t.Errorf("got %v / %q, want it to say the file is not a regular one", err, text)
				}
			})
		}
	}
}

// TestCompareSameRunTwice: a directory named twice, however spelled, is
// one run: 5 boots a side, not 10.
func TestCompareSameRunTwice(t *testing.T) {
	dirs := fakerun.BenchRun(t, "ns/op", []float64{100, 101, 102, 103, 104}, []float64{200, 201, 202, 203, 204})
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dirs[0], link); err != nil {
		t.Fatal(err)
	}
	tab, err := compareWithin(t, dirs[0], dirs[0]+"/.", link)
	if err != nil {
		t.Fatal(err)
	}
	if c := tab.Rows[0].Cells[1]; c.Boots != 5 || tab.Rows[0].Cells[0].Boots != 5 || c.P < 0.007 || c.P > 0.009 {
		t.Errorf("boots %d and %d, p %.4f; want 5 a side and p 0.008", tab.Rows[0].Cells[0].Boots, c.Boots, c.P)
	}
}
