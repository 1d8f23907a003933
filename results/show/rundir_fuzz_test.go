package show

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"kharness/results/stats"
	"kharness/results/store"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// FuzzRunDir feeds a hand-made run directory to compare, report, seed and
// fidelity (and compare's KCIDB report to the schema's check): four boots of two kernels whose boot.bench files are the
// fuzzer's (one as given, the rest as given with a known line), and a
// run.json of its choosing. Whatever they hold, the readers return or
// fail with an error, never panic, and stay under a memory cap.
func FuzzRunDir(f *testing.F) {
	f.Add([]byte("BenchmarkNullSyscall/call=getppid 1000 460 ns/op 5 ref-ns/op\n"), []byte(`{"schema":1}`))
	f.Add([]byte("BenchmarkX 1 NaN ns/op\nBenchmarkX 1 -3 ns/op\nBenchmarkX 1 1e308 ns/op\n"), []byte("{"))
	f.Add([]byte("BenchmarkCtxSwitch/procs=2/ws=0KiB 4 5089 insns/op 5075 kinsns/op\nBenchmarkCtxSwitch/procs=2/ws=0KiB 1000 30000 ns/op 34000 raw-ns/op 20000 ctxsw/s 300 intr/s 9 usr% 91 sys% 0 idl%\n"), []byte(`{"kernels":[{"label":"a"}]}`))
	f.Add([]byte("BenchmarkNullSyscall/call=getppid/impl=go 1 460 ns/op\nBenchmarkNullSyscall/call=getppid/impl=c 1 450 ns/op\n"), []byte("null"))
	f.Fuzz(func(t *testing.T, bench, runJSON []byte) {
		// Written by hand, as a person or another tool could, not
		// through the store (whose fsyncs would slow the fuzzer).
		dir := filepath.Join(t.TempDir(), "run")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, store.RunFile), runJSON, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"a", "b"} {
			for i := range 4 {
				cell := store.CellName(k, "default")
				bdir := filepath.Join(dir, store.CellsDir, cell, fmt.Sprintf("boot-%02d-a1", i))
				if err := os.MkdirAll(bdir, 0o755); err != nil {
					t.Fatal(err)
				}
				data := bench
				if i > 0 || k == "b" {
					data = append(fmt.Appendf(nil, "BenchmarkNullSyscall/call=getppid 1000 %d ns/op\n", 400+i), bench...)
				}
				rec, _ := json.Marshal(&store.BootRecord{Cell: cell, Boot: i, Attempt: 1, Kernel: store.KernelInfo{Label: k},
					Config: store.BootConfig{Name: "default"}, Accel: "tcg", Status: store.StatusOK})
				if os.WriteFile(filepath.Join(bdir, store.BenchFile), data, 0o644) != nil || os.WriteFile(filepath.Join(bdir, store.BootFile), rec, 0o644) != nil {
					t.Fatal("writing the run")
				}
			}
		}
		for _, col := range []string{"config", "kernel"} {
			if tab, err := stats.Compare([]string{dir}, stats.CompareOptions{Column: col}); err == nil {
				WriteText(io.Discard, tab)
				WriteCSV(io.Discard, tab)
				WriteJSON(io.Discard, tab)
				var kc bytes.Buffer
				if err := WriteKCIDB(&kc, []string{dir}, tab); err != nil {
					t.Errorf("KCIDB report of a run compare reads: %v", err)
				} else if errs := checkKCIDB(kc.Bytes()); len(errs) > 0 {
					t.Errorf("KCIDB report breaks the schema: %v", errs)
				}
			}
		}
		WriteReport(io.Discard, []string{dir}, ReportOptions{})
		if rows, err := stats.Seed(dir); err == nil {
			WriteSeed(io.Discard, rows, "tcg")
		}
		if rows, err := stats.Fidelity(dir); err == nil {
			WriteFidelity(io.Discard, rows)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > 512<<20 {
			t.Fatalf("heap %d MiB after reading a run of %d+%d bytes", ms.HeapAlloc>>20, len(bench), len(runJSON))
		}
	})
}
