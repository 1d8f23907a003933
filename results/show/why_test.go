package show

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"kharness/results/internal/fakerun"
	"kharness/results/stats"
)

// TestWhyShown: a called exact cell's functions are in every form of the
// table: a line under its row in the text, the why field of CSV and JSON,
// and a bar chart under its row in the report, and they add up to the
// row's difference.
func TestWhyShown(t *testing.T) {
	dir := fakerun.WhyRun(t, true)
	tab, err := stats.Compare([]string{dir}, stats.CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := WriteText(&text, tab); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(text.String(), "\n")
	var whys int
	for i, l := range lines {
		if strings.HasPrefix(l, "  why ") {
			whys++
			if !strings.Contains(lines[i-1], "exact regression") {
				t.Errorf("why line %q is not under a called row but under %q", l, lines[i-1])
			}
		}
	}
	for _, want := range []string{"  why pti-on +9: entry_SYSCALL_64 +4, pti_switch_cr3 +4, [user space] +1\n", "  why pti-on +8: entry_SYSCALL_64 +4, pti_switch_cr3 +4\n"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if whys != 2 {
		t.Errorf("%d why lines, want 2 (the insns/op and kinsns/op rows)", whys)
	}

	var c bytes.Buffer
	if err := WriteCSV(&c, tab); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&c).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var csvWhys []string
	for _, r := range recs[1:] {
		if w := r[len(r)-1]; w != "" {
			csvWhys = append(csvWhys, r[1]+": "+w)
		}
	}
	if strings.Join(csvWhys, "|") != "insns/op: entry_SYSCALL_64 +4; pti_switch_cr3 +4; [user space] +1|kinsns/op: entry_SYSCALL_64 +4; pti_switch_cr3 +4" {
		t.Errorf("CSV why fields %q", csvWhys)
	}

	var j bytes.Buffer
	if err := WriteJSON(&j, tab); err != nil {
		t.Fatal(err)
	}
	var back JSONTable
	if err := json.Unmarshal(j.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range back.Results {
		if r.Why != nil {
			n++
			if len(r.Why.Funcs) != 2 || r.Why.BootB == "" {
				t.Errorf("JSON why %+v", r.Why)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d JSON results with a why, want 2", n)
	}

	var page bytes.Buffer
	if err := WriteReport(&page, []string{dir}, ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	html := page.String()
	if got := strings.Count(html, `<figure class="why">`); got != 2 {
		t.Errorf("%d why charts in the report, want 2", got)
	}
	for _, want := range []string{">pti_switch_cr3</text>", ">[user space]</text>", `class="up"`} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
