package lava

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kharness/results/store"
)

// TestReadLavaLogs reads hand-cut LAVA logs (testdata/lava, taken from a
// lava-run job of the 6.1 cloud kernel) back into a run: the complete one
// becomes an ok boot with its three samples and LAVA's QEMU package, as
// does one whose end marker LAVA logged as feedback; one
// that ends before the end marker and one with a garbled sample line become
// failed boots with their reason and no results.
func TestReadLavaLogs(t *testing.T) {
	for _, tc := range []struct {
		log    string
		status store.Status
		reason []string // in the boot's reason
	}{
		{"complete.yaml", store.StatusOK, nil},
		// The end marker logged as feedback: the monitor's end pattern
		// matched before the line's newline came.
		{"feedback.yaml", store.StatusOK, nil},
		{"truncated.yaml", store.StatusTruncated, []string{"end marker", "the LAVA job's result is missing"}},
		{"garbled.yaml", store.StatusGarbled, []string{"12x8.74"}},
	} {
		t.Run(strings.TrimSuffix(tc.log, ".yaml"), func(t *testing.T) {
			run := lavaTestRun(t, tc.log)
			read, failed, err := ReadLava(run)
			wantFailed := 1
			if tc.status.OK() {
				wantFailed = 0
			}
			if err != nil || read != 1 || failed != wantFailed {
				t.Fatalf("ReadLava: %d read, %d failed, %v; want 1 read, %d failed", read, failed, err, wantFailed)
			}
			boots, err := store.LoadBoots(run)
			if err != nil || len(boots) != 1 {
				t.Fatalf("LoadBoots: %d boots, %v; want 1", len(boots), err)
			}
			b := boots[0]
			if b.Status != tc.status {
				t.Fatalf("status %q (%s); want %q", b.Status, b.Reason, tc.status)
			}
			for _, r := range tc.reason {
				if !strings.Contains(b.Reason, r) {
					t.Errorf("reason %q; want it to say %q", b.Reason, r)
				}
			}
			bench := filepath.Join(run, store.CellsDir, "6.1-cloud--default", "boot-00-a1", store.BenchFile)
			data, err := os.ReadFile(bench)
			if !tc.status.OK() {
				if err == nil {
					t.Errorf("a %s boot has results:\n%s", b.Status, data)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, l := range strings.Split(string(data), "\n") {
				if strings.HasPrefix(l, "BenchmarkNullSyscall/call=getppid ") && strings.Contains(l, " ns/op") {
					n++
				}
			}
			if n != 3 {
				t.Errorf("%d null syscall samples in %s; want 3", n, bench)
			}
			if want := "LAVA (Debian 1:7.2+dfsg-7+deb12u18+b3)"; b.QEMUVersion != want {
				t.Errorf("QEMU version %q; want %q", b.QEMUVersion, want)
			}
		})
	}
}

// lavaTestRun is a run directory of one cell, 6.1-cloud--default, whose
// one boot's LAVA log is testdata/lava/log.
func lavaTestRun(t *testing.T, log string) string {
	t.Helper()
	run := t.TempDir()
	src := "boots = 1\naccel = \"tcg\"\n[[kernel]]\nname = \"6.1-cloud\"\nfamily = \"6.1\"\nflavour = \"cloud-amd64\"\n[[config]]\nname = \"default\"\ncmdline = \"\"\n"
	if err := os.WriteFile(filepath.Join(run, store.ConfigFile), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(run)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec := &store.RunRecord{
		Kernels: []store.KernelInfo{{Label: "6.1-cloud", Source: "family:6.1/cloud-amd64", Release: "6.1.0-57-cloud-amd64"}},
		Configs: []store.BootConfig{{Name: "default"}}, Boots: 1, Accel: "tcg",
	}
	if err := st.WriteRun(rec); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "lava", log))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(run, LavaDir, "6.1-cloud--default", "boot-00")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, LavaLogFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return run
}
