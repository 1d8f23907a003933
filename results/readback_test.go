package results

import (
	"errors"
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

// bootBench returns the path of boot.bench of boot i of the "new" kernel.
func bootBench(dir string, i int) string {
	m, _ := filepath.Glob(filepath.Join(dir, store.CellsDir, store.CellName("new", "default"), "boot-0"+string(rune('0'+i))+"-a1", store.BenchFile))
	return m[0]
}

// TestReadBackValues: a value a guest could never have sent (NaN, Inf, a
// negative time, 1e308) in a stored boot.bench is skipped with a warning,
// never handed to the statistics.
func TestReadBackValues(t *testing.T) {
	for _, bad := range []string{"NaN", "+Inf", "-5", "1e308"} {
		t.Run(bad, func(t *testing.T) {
			dirs := benchRun(t, "ns/op", []float64{100, 101, 102, 103, 104}, []float64{200, 201, 202, 203, 204})
			if err := os.WriteFile(bootBench(dirs[0], 0), []byte("BenchmarkX-2\t1\t"+bad+" ns/op\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			tab, err := compareWithin(t, dirs...)
			if err != nil {
				t.Fatal(err)
			}
			var sb strings.Builder
			tab.WriteText(&sb)
			if len(tab.Rows) != 1 || tab.Rows[0].Cells[1].Boots != 4 {
				t.Errorf("want the bad boot's line skipped (4 boots left):\n%s", sb.String())
			}
			if !strings.Contains(strings.Join(tab.Warnings, "\n"), "line skipped") {
				t.Errorf("no warning for the skipped line: %v", tab.Warnings)
			}
			table, _, _ := strings.Cut(sb.String(), "warning:")
			if strings.Contains(table, "NaN") || strings.Contains(table, "Inf") || strings.Contains(table, "-1.00") {
				t.Errorf("a bad value reached the table:\n%s", sb.String())
			}
		})
	}
}

// TestReadBackNotAFile: a boot.bench or boot.json that is a link to
// /dev/zero, or a FIFO nobody writes, is an error naming it, at once.
func TestReadBackNotAFile(t *testing.T) {
	for _, kind := range []string{"symlink", "fifo"} {
		for _, file := range []string{store.BenchFile, store.BootFile} {
			t.Run(kind+"-"+file, func(t *testing.T) {
				dirs := benchRun(t, "ns/op", []float64{100, 101, 102, 103, 104}, []float64{200, 201, 202, 203, 204})
				path := filepath.Join(filepath.Dir(bootBench(dirs[0], 1)), file)
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
	dirs := benchRun(t, "ns/op", []float64{100, 101, 102, 103, 104}, []float64{200, 201, 202, 203, 204})
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

// TestCompareEscapes: names from a hand-made run cannot reach the terminal
// with control characters (clear the screen, set the title, forge rows).
func TestCompareEscapes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evil := "k\x1b[2J\x1b]0;owned\x07\nforged row"
	for i := range 5 {
		for _, k := range []string{"base", evil} {
			a, err := s.NewAttempt(store.CellName(k, "c\x1b[31m"), i, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(a.Path(store.BenchFile), []byte("BenchmarkX-2\t1\t100 ns/op\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			rec := &store.BootRecord{Kernel: store.KernelInfo{Label: k}, Config: store.BootConfig{Name: "c\x1b[31m"}, Accel: "kvm", Status: store.StatusOK}
			if err := a.Commit(rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	tab, err := compareWithin(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []func(*strings.Builder) error{
		func(b *strings.Builder) error { return tab.WriteText(b) },
		func(b *strings.Builder) error { return tab.WriteCSV(b) },
	} {
		var b strings.Builder
		if err := w(&b); err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(b.String(), "\x1b\x07") || strings.Contains(b.String(), "\nforged row") {
			t.Errorf("control characters passed through:\n%q", b.String())
		}
	}
	_ = errors.New
}
