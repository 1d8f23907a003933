package nightly

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kharness/results/show"
)

// TestHistoryReportWritesKCIDB: a night's trend report comes with
// kcidb.json beside it: the history's real runs (results/testdata/runs,
// linked in as kernels' run directories) as a KCIDB report, a checkout a
// kernel and the exact counts among its tests.
func TestHistoryReportWritesKCIDB(t *testing.T) {
	history := t.TempDir()
	abs, err := filepath.Abs(filepath.Join("..", "..", "results", "testdata", "runs", "mkrun"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(abs, filepath.Join(history, "mkrun")); err != nil {
		t.Fatal(err)
	}
	page, kc := filepath.Join(history, "report.html"), filepath.Join(history, "kcidb.json")
	if err := writeHistoryReport(history, page, kc); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(kc)
	if err != nil {
		t.Fatalf("no kcidb.json beside the report: %v", err)
	}
	var k show.KCIDB
	if err := json.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	if k.Version.Major != 4 || len(k.Checkouts) != 2 || len(k.Builds) != 2 {
		t.Errorf("kcidb.json: version %+v, %d checkouts, %d builds; want v4, the 2 kernels", k.Version, len(k.Checkouts), len(k.Builds))
	}
	exact := 0
	for _, te := range k.Tests {
		if te.Number != nil && te.Number.Unit == "insns/op" && strings.HasPrefix(te.Path, "kharness.pti-on.") {
			exact++
		}
	}
	if exact == 0 {
		t.Errorf("kcidb.json has no insns/op test of config pti-on")
	}
}
