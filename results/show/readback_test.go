package show

import (
	"errors"
	"kharness/results/internal/fakerun"
	"kharness/results/stats"
	"kharness/results/store"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadBackValues: a value a guest could never have sent (NaN, Inf, a
// negative time, 1e308) in a stored boot.bench is skipped with a warning,
// never handed to the statistics.
func TestReadBackValues(t *testing.T) {
	for _, bad := range []string{"NaN", "+Inf", "-5", "1e308"} {
		t.Run(bad, func(t *testing.T) {
			dirs := fakerun.BenchRun(t, "ns/op", []float64{100, 101, 102, 103, 104}, []float64{200, 201, 202, 203, 204})
			if err := os.WriteFile(fakerun.BenchPath(dirs[0], 0), []byte("BenchmarkX-2\t1\t"+bad+" ns/op\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			tab, err := stats.Compare(dirs, stats.CompareOptions{Column: "kernel"})
			if err != nil {
				t.Fatal(err)
			}
			var sb strings.Builder
			WriteText(&sb, tab)
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
	tab, err := stats.Compare([]string{dir}, stats.CompareOptions{Column: "kernel"})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []func(*strings.Builder) error{
		func(b *strings.Builder) error { return WriteText(b, tab) },
		func(b *strings.Builder) error { return WriteCSV(b, tab) },
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
