package show

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"kharness/results/internal/fakerun"
	"kharness/results/stats"
	"kharness/results/store"
)

// TestExactSpreadTextAgreesWithJSON: an exact count's spread is the same
// number in the text's "±" and the JSON's spread: how far the farthest
// boot lies from the median, as a fraction of it (the range over boots,
// on which the exact call rests). Issue 26: text "364.00 ± 84%", JSON
// spread 0 (a MAD that four equal boots of five hid). With 10 boots the
// text's CI hid the odd boot too.
func TestExactSpreadTextAgreesWithJSON(t *testing.T) {
	for _, n := range []int{5, 10} {
		base := make([]float64, n)
		for i := range base {
			base[i] = 364
		}
		odd := append(base[:n-1:n-1], 56.52)
		tab, err := stats.Compare(fakerun.BenchRun(t, "insns/op", base, odd), stats.CompareOptions{Column: "kernel"})
		if err != nil {
			t.Fatal(err)
		}
		var text, js bytes.Buffer
		if err := WriteText(&text, tab); err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(&js, tab); err != nil {
			t.Fatal(err)
		}
		var j JSONTable
		if err := json.Unmarshal(js.Bytes(), &j); err != nil {
			t.Fatal(err)
		}
		want := (364 - 56.52) / 364 // 84%
		var spreads []float64
		for _, r := range j.Results {
			if r.Spread == nil {
				t.Fatalf("%d boots, %s: no spread in the JSON", n, r.Kernel)
			}
			spreads = append(spreads, *r.Spread)
		}
		if len(spreads) != 2 || spreads[0] != 0 || math.Abs(spreads[1]-want) > 1e-9 {
			t.Errorf("%d boots: JSON spreads %v, want 0 and %.4f", n, spreads, want)
		}
		if !strings.Contains(text.String(), fmt.Sprintf("± %.0f%%", 100*want)) || !strings.Contains(text.String(), "± 0%") {
			t.Errorf("%d boots: text does not show ± 0%% and ± %.0f%%:\n%s", n, 100*want, text.String())
		}
	}
}

// TestNoCountShown: a boot whose count phase gave no one answer says so in
// its boot.bench, and compare's text and JSON say how many such counts
// are missing, and why the first is.
func TestNoCountShown(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteRun(&store.RunRecord{Kernels: []store.KernelInfo{{Label: "k"}}, Configs: []store.BootConfig{{Name: "default"}}}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		bench := "BenchmarkX 1000 512 ns/op\nBenchmarkX 50 364 insns/op 360 kinsns/op\n"
		if i == 2 {
			bench = "# insns-none BenchmarkX: the most common counts come from different paths\nBenchmarkX 1000 512 ns/op\n"
		}
		fakerun.Commit(t, s, "k", i, bench)
	}
	tab, err := stats.Compare([]string{dir}, stats.CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var text, js bytes.Buffer
	WriteText(&text, tab)
	WriteJSON(&js, tab)
	if !strings.Contains(text.String(), "1 exact counts not recorded") || !strings.Contains(text.String(), "k--default boot 2: BenchmarkX: the most common counts come from different paths") {
		t.Errorf("text does not say which count is missing and why:\n%s", text.String())
	}
	if !strings.Contains(js.String(), `"no_counts": 1`) {
		t.Errorf("JSON has no no_counts:\n%s", js.String())
	}
}

// TestZeroCountCompared: a count of 0 in a later column (a call that no
// longer enters the kernel, as through the vDSO) is a count like any
// other: its ratio, its difference and its call are shown, in text and
// JSON, not hidden as if the cell had no boots.
func TestZeroCountCompared(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteRun(&store.RunRecord{Kernels: []store.KernelInfo{{Label: "base"}, {Label: "new"}}, Configs: []store.BootConfig{{Name: "default"}}}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		fakerun.Commit(t, s, "base", i, "BenchmarkX 50 325 insns/op 321 kinsns/op\n")
		fakerun.Commit(t, s, "new", i, "BenchmarkX 50 24 insns/op 0 kinsns/op\n")
	}
	tab, err := stats.Compare([]string{dir}, stats.CompareOptions{Column: "kernel"})
	if err != nil {
		t.Fatal(err)
	}
	var text, js bytes.Buffer
	WriteText(&text, tab)
	WriteJSON(&js, tab)
	if !strings.Contains(text.String(), "×0.0000 -321.00 exact improvement") {
		t.Errorf("text hides the ratio and call of a count of 0:\n%s", text.String())
	}
	var j JSONTable
	if err := json.Unmarshal(js.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	for _, r := range j.Results {
		if r.Unit == "kinsns/op" && r.Kernel == "new" && (r.Ratio == nil || *r.Ratio != 0 || r.Call != stats.CallImprovement) {
			t.Errorf("JSON: ratio %v, call %q; want 0, improvement", r.Ratio, r.Call)
		}
	}
}
