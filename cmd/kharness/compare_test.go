package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kharness/results/show"
	"kharness/results/stats"
	"kharness/results/store"
)

// compareRun makes a run directory, without booting anything, in which
// each kernel of kernels has one ok boot under config "default" for each
// value of its slice, reporting BenchmarkGetpid-2 at that many ns/op.
func compareRun(t *testing.T, kernels []string, ns map[string][]float64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	run := &store.RunRecord{Configs: []store.BootConfig{{Name: "default"}}}
	for _, k := range kernels {
		run.Kernels = append(run.Kernels, store.KernelInfo{Label: k})
	}
	if err := s.WriteRun(run); err != nil {
		t.Fatal(err)
	}
	for _, k := range kernels {
		for i, v := range ns[k] {
			a, err := s.NewAttempt(store.CellName(k, "default"), i, 1)
			if err != nil {
				t.Fatal(err)
			}
			bench := fmt.Sprintf("BenchmarkGetpid-2\t1000\t%g ns/op\nBenchmarkGetpid-2\t1000\t%g ns/op\n", v, v)
			if err := os.WriteFile(a.Path(store.BenchFile), []byte(bench), 0o644); err != nil {
				t.Fatal(err)
			}
			err = a.Commit(&store.BootRecord{Kernel: store.KernelInfo{Label: k}, Config: store.BootConfig{Name: "default"},
				Accel: "kvm", QEMUVersion: "8.2.2", GuestCPU: "max", Jobs: 1, Status: store.StatusOK})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func TestCompareExitStatus(t *testing.T) {
	base := []float64{100, 101, 102, 103, 104}
	aa := compareRun(t, []string{"a", "b"}, map[string][]float64{"a": base, "b": {103, 100, 104, 102, 101}})
	slower := compareRun(t, []string{"a", "b"}, map[string][]float64{"a": base, "b": {1610, 1620, 1630, 1640, 1650}})
	few := compareRun(t, []string{"a", "b"}, map[string][]float64{"a": base[:3], "b": {1610, 1620, 1630}})
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  []string // in stdout
		err  string   // in stderr
	}{
		{"A/A", []string{"-col", "kernel", aa}, 0, []string{"~"}, ""},
		{"regression", []string{"-col", "kernel", slower}, exitRegression, []string{"×15.98 p=0.008 regression"}, "1 cells called a regression"},
		{"regression csv", []string{"-col", "kernel", "-format", "csv", slower}, exitRegression, []string{"Getpid-2,sec/op,default,b,5,0,1.63e-06,"}, "regression"},
		{"regression json", []string{"-col", "kernel", "-format", "json", slower}, exitRegression, []string{`"call": "regression"`, `"regressions": 1`}, "regression"},
		{"too few boots for alpha 0.005", []string{"-col", "kernel", "-alpha", "0.005", slower}, 0, []string{"×15.98 p=0.008 ~ ²", "need >= 6 a side"}, ""},
		{"above a 2000% threshold", []string{"-col", "kernel", "-threshold", "2000%", slower}, 0, []string{"p=0.008 ~"}, ""},
		{"threshold as a fraction", []string{"-col", "kernel", "-threshold", "0.5", slower}, exitRegression, []string{"more than 50%"}, ""},
		{"too few boots", []string{"-col", "kernel", few}, 0, []string{"p=0.100 ~ ²", "too few boots to call (need >= 4 a side)"}, ""},
		{"bad format", []string{"-format", "xml", aa}, exitUsage, nil, "-format"},
		{"bad alpha", []string{"-alpha", "0", aa}, exitUsage, nil, "-alpha"},
		{"bare threshold of 2", []string{"-threshold", "2", aa}, exitUsage, nil, "write 2% if that is meant"},
		{"bad threshold", []string{"-threshold", "-1%", aa}, exitUsage, nil, "-threshold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"compare"}, tc.args...), &stdout, &stderr)
			code := exitCode(err, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.err) {
				t.Errorf("kharness compare %q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.err)
			}
			for _, want := range tc.out {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("kharness compare %q: stdout lacks %q:\n%s", tc.args, want, stdout.String())
				}
			}
		})
	}
}

// TestCompareMachineFormats checks that -format csv and json give what
// the standard decoders read back.
func TestCompareMachineFormats(t *testing.T) {
	dir := compareRun(t, []string{"a", "b"}, map[string][]float64{"a": {100, 101, 102, 103, 104}, "b": {110, 111, 112, 113, 114}})
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"compare", "-col", "kernel", "-format", "csv", dir}, &out, &errb); exitCode(err, &errb) != exitRegression {
		t.Fatalf("csv: %v\n%s", err, errb.String())
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(recs) != 3 || recs[2][3] != "b" || recs[2][9] != "1.0980392156862746" || recs[2][11] != "regression" {
		t.Errorf("csv = %q, %v", recs, err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"compare", "-col", "kernel", "-format", "json", dir}, &out, &errb); exitCode(err, &errb) != exitRegression {
		t.Fatalf("json: %v\n%s", err, errb.String())
	}
	var j show.JSONTable
	if err := json.Unmarshal(out.Bytes(), &j); err != nil || len(j.Results) != 2 || j.Results[1].Call != stats.CallRegression ||
		math.Abs(*j.Results[1].Median-112e-9) > 1e-18 || j.Threshold != 0.02 || j.Alpha != 0.05 || j.Accel[0] != "kvm" {
		t.Errorf("json = %+v, %v", j, err)
	}
}

// TestCompareFindings: -findings writes one report a called exact change
// of a stored run (pti=on on both kernels' five benchmarks: 10 changes,
// kinsns/op as user space did not move), each with its subject and the
// commands that reproduce it; a run without profiled boots says how to
// get the functions.
func TestCompareFindings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "findings")
	run1 := filepath.Join("..", "..", "results", "testdata", "runs", "mkrun")
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"compare", "-findings", dir, run1}, &out, &errb); exitCode(err, &errb) != exitRegression {
		t.Fatalf("compare: %v\n%s", err, errb.String())
	}
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 10 || !strings.Contains(errb.String(), "10 findings (called exact changes) written to "+dir) {
		t.Fatalf("%d findings (%v); stderr %s", len(ents), err, errb.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "NullSyscall_call_getppid_kinsns-op_6.1-cloud-default_to_6.1-cloud-pti-on.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Subject: NullSyscall/call=getppid: +8 kernel instructions (+2.5%) from default to pti-on on 6.1.",
		"config pti-on, kernel command line \"pti=on\"",
		"No functions: ", "-profile first",
		"reproduce:\n", "kharness compare -findings " + dir + " " + run1 + "\n",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("finding lacks %q:\n%s", want, b)
		}
	}
}
