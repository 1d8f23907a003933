package show

import (
	"bytes"
	"encoding/json"
	"kharness/results/stats"
	"kharness/results/store"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kcidbOf returns the KCIDB report of the real run kept under
// results/testdata/runs/name, compared by config as compare does.
func kcidbOf(t *testing.T, name string) []byte {
	t.Helper()
	dir := filepath.Join("..", "testdata", "runs", name)
	tab, err := stats.Compare([]string{dir}, stats.CompareOptions{Column: "config"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteKCIDB(&b, []string{dir}, tab); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestKCIDBRealRunsPassSchema: the KCIDB report of each real run kept
// under results/testdata/runs passes the check of KCIDB's schema v4.5
// (kcidb_schema_test.go), and holds what the issue asks: a checkout per
// kernel with its Debian package and version, a build per image with its
// config, a boot test per cell and a test per benchmark and unit with its
// number, exact counts among them.
func TestKCIDBRealRunsPassSchema(t *testing.T) {
	for _, name := range []string{"mkrun", "fid", "s2002"} {
		t.Run(name, func(t *testing.T) {
			data := kcidbOf(t, name)
			for _, e := range checkKCIDB(data) {
				t.Error(e)
			}
			var k KCIDB
			if err := json.Unmarshal(data, &k); err != nil {
				t.Fatal(err)
			}
			run, err := store.ReadRunDir(filepath.Join("..", "testdata", "runs", name))
			if err != nil {
				t.Fatal(err)
			}
			if len(k.Checkouts) != len(run.Kernels) || len(k.Builds) != len(run.Kernels) {
				t.Errorf("%d checkouts and %d builds, want one each for the run's %d kernels", len(k.Checkouts), len(k.Builds), len(run.Kernels))
			}
			for i, co := range k.Checkouts {
				want := run.Kernels[i]
				if co.Misc["package"] != want.Package || co.Misc["version"] != want.Version || !strings.Contains(co.ID, want.Version) {
					t.Errorf("checkout %s: misc %v, want package %s version %s", co.ID, co.Misc, want.Package, want.Version)
				}
				if b := k.Builds[i]; b.CheckoutID != co.ID || b.ConfigName != "cloud-amd64" || b.Misc["image_sha256"] != want.SHA256 {
					t.Errorf("build %+v, want checkout %s, config cloud-amd64, image %s", b, co.ID, want.SHA256)
				}
			}
			paths := map[string]int{}
			for _, te := range k.Tests {
				paths[te.Path]++
				if te.Status == "DONE" && (te.Number == nil || te.Number.Unit == "") {
					t.Errorf("test %s: DONE without a number and unit", te.ID)
				}
			}
			cells := len(run.Kernels) * len(run.Configs)
			for _, c := range run.Configs {
				if n := paths["kharness."+kcidbPathPart(c.Name)+".boot"]; n != len(run.Kernels) {
					t.Errorf("%d boot tests of config %s, want one a kernel (%d)", n, c.Name, len(run.Kernels))
				}
			}
			if len(k.Tests) < 3*cells {
				t.Errorf("%d tests for %d cells: want a boot test and several results a cell", len(k.Tests), cells)
			}
		})
	}
}

// TestKCIDBNumbers: the exact count and the time of one real cell are the
// table's medians, with their units: 325 insns/op, as the golden table of
// mkrun reads, and seconds per op scaled by metric prefixes.
func TestKCIDBNumbers(t *testing.T) {
	var k KCIDB
	if err := json.Unmarshal(kcidbOf(t, "mkrun"), &k); err != nil {
		t.Fatal(err)
	}
	got := map[string]KCIDBTest{}
	for _, te := range k.Tests {
		if strings.Contains(te.ID, ":6.1-cloud--default:") {
			got[te.Path] = te
		}
	}
	insns := got["kharness.default.NullSyscall_call_getppid.insns_op"]
	if n := insns.Number; n == nil || n.Value != 325 || n.Unit != "insns/op" || n.Prefix != "" || insns.Status != "DONE" {
		t.Errorf("6.1-cloud default NullSyscall insns/op: %+v, want DONE 325 insns/op", insns)
	}
	if n := got["kharness.default.NullSyscall_call_getppid.kinsns_op"].Number; n == nil || n.Value != 321 || n.Unit != "kinsns/op" {
		t.Errorf("kinsns/op: %+v, want 321", n)
	}
	sec := got["kharness.default.NullSyscall_call_getppid.sec_op"]
	if n := sec.Number; n == nil || n.Unit != "s/op" || n.Prefix != "metric" || n.Value < 5.6e-7 || n.Value > 5.7e-7 {
		t.Errorf("sec/op: %+v, want 567.1ns as s/op with a metric prefix", n)
	}
	if sec.Misc["lo"] == nil || sec.Misc["hi"] == nil || sec.Misc["boots"] != float64(4) {
		t.Errorf("sec/op misc %v: want the interval and the 4 boots kept", sec.Misc)
	}
	if boot := got["kharness.default.boot"]; boot.Status != "PASS" || boot.StartTime == "" || boot.Environment == nil || boot.Environment.Misc["accel"] == nil {
		t.Errorf("boot test %+v: want PASS with a start time and the accelerator", boot)
	}
}

// TestKCIDBTreeBuildAndFailure: a kernel built from a git tree is a
// checkout of its commit; a cell whose boots all panicked is a FAIL test
// with the reason and no number; both pass the schema's check.
func TestKCIDBTreeBuildAndFailure(t *testing.T) {
	commit := strings.Repeat("ab", 20)
	tree := store.KernelInfo{Label: "tree", Source: "file:/c/kbuild/bzimage/" + commit + "-0123456789abcdef/bzImage", SHA256: strings.Repeat("1", 64)}
	deb := store.KernelInfo{Label: "deb", Package: "linux-image-6.1.0-57-amd64", Version: "6.1.192-3", Release: "6.1.0-57-amd64", SHA256: strings.Repeat("2", 64)}
	start := time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)
	boots := []*store.BootRecord{
		{Kernel: tree, Config: store.BootConfig{Name: "default"}, Status: store.StatusOK, Accel: "tcg", Started: start},
		{Kernel: deb, Config: store.BootConfig{Name: "default"}, Status: store.StatusPanic, Reason: "Kernel panic - not syncing", Started: start},
	}
	tab := &stats.Table{Columns: []string{"default"}, Rows: []stats.Row{{Benchmark: "NullSyscall/call=getppid", Unit: "insns/op", Cells: []stats.Cell{
		{Kernel: "tree", Config: "default", Boots: 1, OKBoots: 1, Center: 300},
		{Kernel: "deb", Config: "default", Failed: 1, Status: store.StatusPanic, Reason: "panic: Kernel panic - not syncing"},
	}}}}
	data, err := json.Marshal(KCIDBReport(boots, tab))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range checkKCIDB(data) {
		t.Error(e)
	}
	var k KCIDB
	json.Unmarshal(data, &k)
	if len(k.Checkouts) != 2 || k.Checkouts[0].GitCommitHash != commit || k.Checkouts[0].ID != "kharness:git:"+commit {
		t.Errorf("tree checkout %+v: want commit %s", k.Checkouts, commit)
	}
	if k.Builds[0].ConfigName != "kharness-qemu-0123456789abcdef" || k.Builds[1].ConfigName != "amd64" {
		t.Errorf("builds' configs %q, %q", k.Builds[0].ConfigName, k.Builds[1].ConfigName)
	}
	var failed []KCIDBTest
	for _, te := range k.Tests {
		if strings.Contains(te.ID, ":deb--default:") {
			failed = append(failed, te)
		}
	}
	if len(failed) != 2 {
		t.Fatalf("failed cell's tests: %+v, want its boot and its benchmark", failed)
	}
	for _, te := range failed {
		if te.Status != "FAIL" || te.Number != nil || !strings.Contains(te.Comment, "panic") {
			t.Errorf("failed cell's test %+v: want FAIL, no number, the reason", te)
		}
	}
}

// TestKCIDBCheckRefuses: the schema check is not vacuous: each way of
// breaking the schema, made on a real run's report, is caught.
func TestKCIDBCheckRefuses(t *testing.T) {
	good := kcidbOf(t, "fid")
	for name, breakIt := range map[string]func(m map[string]any){
		"major 3":            func(m map[string]any) { m["version"].(map[string]any)["major"] = 3 },
		"minor 6":            func(m map[string]any) { m["version"].(map[string]any)["minor"] = 6 },
		"no version":         func(m map[string]any) { delete(m, "version") },
		"issues":             func(m map[string]any) { m["issues"] = []any{} },
		"build's origin":     func(m map[string]any) { delete(item(m, "builds", 0), "origin") },
		"checkout's id":      func(m map[string]any) { item(m, "checkouts", 0)["id"] = "kharness-debian" },
		"id of other origin": func(m map[string]any) { item(m, "tests", 0)["id"] = "other:x" },
		"origin pattern":     func(m map[string]any) { item(m, "tests", 0)["origin"] = "KHarness" },
		"status":             func(m map[string]any) { item(m, "tests", 1)["status"] = "OK" },
		"path":               func(m map[string]any) { item(m, "tests", 1)["path"] = "a/b" },
		"extra property":     func(m map[string]any) { item(m, "tests", 1)["unit"] = "s" },
		"number's value":     func(m map[string]any) { delete(item(m, "tests", 1)["number"].(map[string]any), "value") },
		"number as string":   func(m map[string]any) { item(m, "tests", 1)["number"].(map[string]any)["value"] = "1" },
		"prefix":             func(m map[string]any) { item(m, "tests", 1)["number"].(map[string]any)["prefix"] = "si" },
		"null in misc":       func(m map[string]any) { item(m, "tests", 1)["misc"].(map[string]any)["lo"] = nil },
		"start_time":         func(m map[string]any) { item(m, "tests", 1)["start_time"] = "yesterday" },
		"architecture":       func(m map[string]any) { item(m, "builds", 0)["architecture"] = "x86-64" },
		"valid as string":    func(m map[string]any) { item(m, "builds", 0)["valid"] = "true" },
		"dangling build_id":  func(m map[string]any) { item(m, "tests", 1)["build_id"] = "kharness:build:none" },
		"duplicate test id":  func(m map[string]any) { item(m, "tests", 1)["id"] = item(m, "tests", 0)["id"] },
	} {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		breakIt(m)
		bad, _ := json.Marshal(m)
		if errs := checkKCIDB(bad); len(errs) == 0 {
			t.Errorf("%s: the check passed a broken report", name)
		}
	}
}

func item(m map[string]any, kind string, i int) map[string]any {
	return m[kind].([]any)[i].(map[string]any)
}
