package show

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"kharness/internal/golden"
	"kharness/results/internal/fakerun"
	"kharness/results/stats"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestCompareGolden(t *testing.T) {
	dirs := fakerun.Runs(t)
	for _, col := range []string{"kernel", "config"} {
		for _, format := range []string{"text", "csv", "json"} {
			t.Run(col+"/"+format, func(t *testing.T) {
				tab, err := stats.Compare(dirs, stats.CompareOptions{Column: col})
				if err != nil {
					t.Fatal(err)
				}
				var b bytes.Buffer
				path := filepath.Join("testdata", "compare", col+".golden")
				switch format {
				case "text":
					err = WriteText(&b, tab)
				case "csv":
					err, path = WriteCSV(&b, tab), filepath.Join("testdata", "compare", col+".csv")
				case "json":
					err, path = WriteJSON(&b, tab), filepath.Join("testdata", "compare", col+".json")
				}
				if err != nil {
					t.Fatal(err)
				}
				golden.Check(t, path, b.Bytes())
			})
		}
	}
}

// TestCompareExportParses checks that the CSV and JSON outputs read back
// with the standard decoders, to the numbers of the table.
func TestCompareExportParses(t *testing.T) {
	tab, err := stats.Compare(fakerun.Runs(t), stats.CompareOptions{Column: "kernel"})
	if err != nil {
		t.Fatal(err)
	}
	var cb, jb bytes.Buffer
	if err := WriteCSV(&cb, tab); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&jb, tab); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&cb).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var j JSONTable
	if err := json.Unmarshal(jb.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	if want := 1 + len(tab.Rows)*len(tab.Columns); len(recs) != want || len(j.Results) != want-1 {
		t.Fatalf("%d CSV records and %d JSON results, want %d and %d", len(recs), len(j.Results), want, want-1)
	}
	if got := strings.Join(recs[0][:4], ","); got != "benchmark,unit,config,kernel" {
		t.Errorf("CSV header starts %s", got)
	}
	// Row 1 is NullSyscall-2 sec/op default: fast, slow, broken.
	slow := recs[2]
	if slow[3] != "slow" || slow[9] == "" || slow[11] != "regression" || j.Results[1].Call != stats.CallRegression {
		t.Errorf("slow/default CSV %q, JSON %+v: want a regression", slow, j.Results[1])
	}
	if v, err := strconv.ParseFloat(slow[6], 64); err != nil || v != tab.Rows[0].Cells[1].Center || *j.Results[1].Median != v {
		t.Errorf("slow/default median %q, want %v unrounded", slow[6], tab.Rows[0].Cells[1].Center)
	}
	if j.Regressions != tab.Regressions() || j.Accel[0] != "kvm" || j.GuestCPU[0] != "max" || j.QEMUVersion[0] != "8.2.2" {
		t.Errorf("JSON table facts %+v", j)
	}
}

func TestCompareFormatValue(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		unit string
		want string
	}{
		{462.3e-9, "sec/op", "462.3ns"},
		{10.2e-6, "sec/op", "10.20µs"},
		{9.99996e-7, "sec/op", "1.000µs"},
		{0.5e-9, "sec/op", "0.5000ns"},
		{1.5, "sec/op", "1.500s"},
		{12345, "sec/op", "12345s"},
		{8, "B/op", "8.000"},
		{2048, "B/op", "2.000Ki"},
	} {
		if got := FormatValue(tc.v, tc.unit); got != tc.want {
			t.Errorf("FormatValue(%g, %s) = %q, want %q", tc.v, tc.unit, got, tc.want)
		}
	}
}
