package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kharness/kernels"
)

// TestNightlyTwice: the first night runs the kernels the history lacks, the
// second runs nothing and says so; a kernel whose boots all fail is recorded
// as failed with its reason and not rerun unless asked.
func TestNightlyTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("boots kernels")
	}
	cand, err := kernels.Resolve(t.Context(), kernels.Source{Family: "6.1"})
	if err != nil {
		t.Fatal(err)
	}
	dir, tmp := t.TempDir(), t.TempDir()
	history := filepath.Join(dir, "history")
	write := func(name, cmdline string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(`
boots = 2
retries = 0
accel = "tcg"
[bench]
run = "NullSyscall/call=getppid$"
benchtime = "10ms"
count = 2
[[kernel]]
name = "newest-6.1"
package = "`+cand.Package+`"
[[config]]
name = "default"
cmdline = "`+cmdline+`"
`), 0o644)
		return p
	}
	night := func(cfg string, extra ...string) (string, string) {
		var out, errb bytes.Buffer
		cmd := kharnessCmd(t, tmp, append([]string{"nightly", "-cache", cacheDir(t), "-history", history}, append(extra, cfg)...)...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("nightly: %v\n%s", err, errb.String())
		}
		return out.String(), errb.String()
	}
	good := write("good.toml", "")
	out, _ := night(good)
	if !strings.Contains(out, "ran 1 kernels, 0 failed") {
		t.Fatalf("first night:\n%s", out)
	}
	if page, err := os.ReadFile(filepath.Join(history, "report.html")); err != nil {
		t.Errorf("no trend report: %v", err)
	} else if !strings.Contains(string(page), "across kernels time is drawn, not called") {
		t.Errorf("the trend report of boots under TCG does not say what it does with time")
	}
	if kc, err := os.ReadFile(filepath.Join(history, "kcidb.json")); err != nil || !strings.Contains(string(kc), `"unit": "insns/op"`) && !strings.Contains(string(kc), `"unit": "s/op"`) {
		t.Errorf("no KCIDB report beside the trend report, or no result in it: %v", err)
	}
	out, errs := night(good)
	if !strings.Contains(out, "ran 0 kernels") || !strings.Contains(errs, "nothing new") || strings.Contains(errs, "boots to run") {
		t.Fatalf("second night ran something:\n%s%s", out, errs)
	}

	// A kernel that cannot boot: a new history, a config that panics.
	history = filepath.Join(dir, "history2")
	bad := write("bad.toml", "rdinit=/does-not-exist root=/dev/nonexistent")
	if out, _ := night(bad); !strings.Contains(out, "ran 0 kernels, 1 failed") {
		t.Fatalf("failing night:\n%s", out)
	}
	b, _ := os.ReadFile(filepath.Join(history, cand.Release, "nightly.json"))
	if !strings.Contains(string(b), `"status": "failed"`) || !strings.Contains(string(b), "panic") {
		t.Errorf("nightly.json of a failed kernel: %s", b)
	}
	if out, _ := night(bad); !strings.Contains(out, "0 failed, 1 already") {
		t.Errorf("failed kernel retried without -retry-failed:\n%s", out)
	}
	if out, _ := night(bad, "-retry-failed"); !strings.Contains(out, "1 failed") {
		t.Errorf("-retry-failed did not rerun:\n%s", out)
	}
}
