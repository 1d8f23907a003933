package bisect

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"kharness/results/stats"
	"kharness/results/store"
)

// TestReferenceValuesOnceForEveryCell: the reference run, loaded and
// guarded once, gives each cell the values BootSamples gives it alone
// (in ns/op), and a run with the benchmark in several cells asks for
// -ref-cell.
func TestReferenceValuesOnceForEveryCell(t *testing.T) {
	dir := filepath.Join("..", "..", "results", "testdata", "runs", "mkrun")
	const bench = "NullSyscall/call=getppid"
	if _, err := ReferenceValues(dir, "", bench, "sec/op"); err == nil || !strings.Contains(err.Error(), "-ref-cell") {
		t.Errorf("no cell chosen: error %v, want one asking for -ref-cell", err)
	}
	re := regexp.MustCompile("^" + regexp.QuoteMeta(bench) + "$")
	for _, cell := range []string{"6.1-cloud--default", "6.12-cloud--pti-on"} {
		ref, err := ReferenceValues(dir, cell, bench, "sec/op")
		if err != nil {
			t.Fatal(err)
		}
		want, _, _, err := stats.BootSamples([]string{dir}, func(r *store.BootRecord) bool { return r.Cell == cell }, re, "sec/op", stats.StatMedian, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			want[i] *= 1e9
		}
		if ref.Cell != cell || len(want) == 0 || !slices.Equal(ref.Values, want) || ref.Kernel == nil {
			t.Errorf("%s: got cell %s values %v kernel %v, want %v", cell, ref.Cell, ref.Values, ref.Kernel, want)
		}
	}
}
