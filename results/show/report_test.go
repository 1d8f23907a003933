package show

import (
	"bytes"
	"fmt"
	"kharness/results/stats"
	"kharness/results/store"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// hostile is a guest-like string that would run a script if it reached
// the page unescaped.
const hostile = `<script>alert(1)</script>`

// reportBoot commits one boot of kernel (with its release) and config with
// a console log and a QEMU command line. An ok boot (reason "") reports
// NullSyscall around ns ns/op and Getpid around twice that; others panic
// with the reason and leave tail as their console tail.
func reportBoot(t *testing.T, s *store.Store, kernel store.KernelInfo, config store.BootConfig, boot int, ns float64, reason string, tail ...string) {
	t.Helper()
	a, err := s.NewAttempt(store.CellName(kernel.Label, config.Name), boot, 1)
	if err != nil {
		t.Fatal(err)
	}
	rec := &store.BootRecord{Kernel: kernel, Config: config, Accel: "tcg", QEMUVersion: "7.2.22", GuestCPU: "qemu64",
		HostCPU: "Fake CPU", Jobs: 2, Status: store.StatusOK, WallSeconds: 4.2, HostLoad: [3]float64{0.5, 0.4, 0.3}}
	files := map[string]string{store.ConsoleLog: "Linux version " + kernel.Release + "\n" + strings.Join(tail, "\n"),
		store.ArgvFile: "qemu-system-x86_64 -append '" + config.Cmdline + "'\n"}
	if reason != "" {
		rec.Status, rec.Reason, rec.ConsoleTail = store.StatusPanic, reason, tail
	} else {
		var b bytes.Buffer
		for _, d := range []float64{-1, 0, 2} {
			fmt.Fprintf(&b, "BenchmarkNullSyscall-2\t1000000\t%g ns/op\n", ns+d)
			fmt.Fprintf(&b, "BenchmarkGetpid-2\t1000000\t%g ns/op\n", 2*ns+d)
		}
		files[store.BenchFile] = b.String()
	}
	for name, data := range files {
		if err := os.WriteFile(a.Path(name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Commit(rec); err != nil {
		t.Fatal(err)
	}
}

// Kernels of reportRun, in version order.
var (
	k61    = store.KernelInfo{Label: "6.1-cloud", Release: "6.1.0-56-cloud-amd64", Version: "6.1.192-2"}
	k6129  = store.KernelInfo{Label: "6.12.9-cloud", Release: "6.12.9+deb12-cloud-amd64", Version: "6.12.9-1"}
	k61210 = store.KernelInfo{Label: "6.12.10-cloud", Release: "6.12.10+deb12-cloud-amd64", Version: "6.12.10-1"}
)

// reportRun makes a run directory under root: three kernels, listed out
// of version order, × configs default and pti-on × 5 boots, pti-on about
// 18 times slower, and every pti-on boot of 6.12.10 panicking with a
// hostile reason and console tail.
func reportRun(t *testing.T, root string) string {
	t.Helper()
	dir := filepath.Join(root, "runs", "run1")
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	def, pti := store.BootConfig{Name: "default"}, store.BootConfig{Name: "pti-on", Cmdline: "pti=on"}
	if err := s.WriteRun(&store.RunRecord{Kernels: []store.KernelInfo{k61210, k61, k6129}, Configs: []store.BootConfig{def, pti}}); err != nil {
		t.Fatal(err)
	}
	for ki, k := range []store.KernelInfo{k61, k6129, k61210} {
		for i := range 5 {
			base := 500 + 10*float64(ki) + 3*float64(i)
			reportBoot(t, s, k, def, i, base, "")
			if k == k61210 {
				reportBoot(t, s, k, pti, i, 0, "Kernel panic - not syncing: "+hostile, "</pre><img src=x onerror=alert(2)>")
			} else {
				reportBoot(t, s, k, pti, i, 18*base, "")
			}
		}
	}
	return dir
}

// writeReport writes the report of dirs to root/out/sub/report.html and
// returns its path and content.
func writeReport(t *testing.T, root string, dirs ...string) (string, string) {
	t.Helper()
	out := filepath.Join(root, "out", "sub", "report.html")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	opt := ReportOptions{LinkBase: filepath.Dir(out), Sections: []ReportSectionFunc{
		func(boots []*store.BootRecord, tab *stats.Table) ([]ReportSection, error) {
			return []ReportSection{{ID: "extra", Title: "Extra " + hostile, Body: "<p>extra body</p>"}}, nil
		},
	}}
	if err := WriteReport(&b, dirs, opt); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out, b.String()
}

var (
	xtickRE = regexp.MustCompile(`<text class="xtick"[^>]*>([^<]*)</text>`)
	hrefRE  = regexp.MustCompile(`(?i)\b(?:href|src)="([^"]*)"`)
	// fetchRE matches what would make a browser fetch something.
	fetchRE = regexp.MustCompile(`(?i)<script|<link|<img|<iframe|<object|<embed|<image|<use|@import|url\(`)
)

func TestReport(t *testing.T) {
	root := t.TempDir()
	out, page := writeReport(t, root, reportRun(t, root))

	// Kernels along the version axis, not in run.json's order.
	var order []string
	for _, m := range xtickRE.FindAllStringSubmatch(page, 3) {
		order = append(order, m[1])
	}
	if got, want := strings.Join(order, " "), "6.1-cloud 6.12.9-cloud 6.12.10-cloud"; got != want {
		t.Errorf("x axis = %s, want %s", got, want)
	}
	for _, want := range []string{
		"<figcaption>NullSyscall-2 <span", "<figcaption>Getpid-2 <span", // one plot a benchmark
		`<td class="call regression">×18.`,                                                // pti-on is slower, and called so
		"pti-on (pti=on)",                                                                 // the legend
		"failed (5)", "Kernel panic - not syncing: &lt;script&gt;alert(1)&lt;/script&gt;", // the failed cell's reason
		`<section id="extra">`, "<p>extra body</p>", "Extra &lt;script&gt;", // the extra-sections hook
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := strings.Count(page, "<svg"); n != 2 {
		t.Errorf("%d plots, want 2", n)
	}
	// 5 ok cells × 5 boots × 2 benchmarks.
	if n := strings.Count(page, "<circle"); n != 50 {
		t.Errorf("%d boot points, want 50", n)
	}
	if m := fetchRE.FindString(page); m != "" {
		t.Errorf("report would fetch something or run a script: %q", m)
	}

	// Every boot's console log and QEMU command line, linked relative to
	// the report.
	links := map[string]int{}
	for _, m := range hrefRE.FindAllStringSubmatch(page, -1) {
		href := m[1]
		if strings.HasPrefix(href, "#") {
			continue
		}
		u, err := url.Parse(href)
		if err != nil || u.Scheme != "" || u.Host != "" || filepath.IsAbs(u.Path) {
			t.Errorf("link %q is not a relative path", href)
			continue
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(out), filepath.FromSlash(u.Path))); err != nil {
			t.Errorf("link %q: %v", href, err)
		}
		links[filepath.Base(u.Path)]++
	}
	if links[store.ConsoleLog] != 30 || links[store.ArgvFile] != 30 || !strings.Contains(page, `href="../../runs/run1/cells/`) {
		t.Errorf("links %v, want 30 console.log and 30 qemu.argv under ../../runs/run1/cells/", links)
	}
}

// TestReportEscapes gives guest-supplied strings that would inject markup
// everywhere they show: a config name and command line, a benchmark
// name, a failure reason and a console tail.
func TestReportEscapes(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "run")
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	k := store.KernelInfo{Label: "k", Release: "6.1.0"}
	evil := store.BootConfig{Name: "evil" + hostile, Cmdline: `a="><svg onload=alert(3)>`}
	for i := range 4 {
		reportBoot(t, s, k, store.BootConfig{Name: "default"}, i, 100, "")
		reportBoot(t, s, k, evil, i, 200, "")
		reportBoot(t, s, store.KernelInfo{Label: "k2" + hostile}, evil, i, 0, hostile, hostile)
	}
	a, err := s.NewAttempt(store.CellName("k", "default"), 9, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a.Path(store.BenchFile), []byte("BenchmarkX"+hostile+" 1 5 ns/op\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(&store.BootRecord{Kernel: k, Config: store.BootConfig{Name: "default"}, Status: store.StatusOK}); err != nil {
		t.Fatal(err)
	}
	_, page := writeReport(t, root, dir)
	if m := fetchRE.FindString(page); m != "" {
		t.Errorf("report holds %q", m)
	}
	for _, bad := range []string{"<svg onload", `"><svg`, "</pre><img"} {
		if strings.Contains(page, bad) {
			t.Errorf("report holds unescaped %q", bad)
		}
	}
	for _, want := range []string{
		"evil&lt;script&gt;alert(1)&lt;/script&gt;",           // config name
		"X&lt;script&gt;alert(1)&lt;/script&gt;",              // benchmark name
		"k2&lt;script&gt;alert(1)&lt;/script&gt;",             // kernel label
		"a=&#34;&gt;&lt;svg onload=alert(3)&gt;",              // command line
		"<div class=\"reason\">panic: &lt;script&gt;alert(1)", // reason
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestReportRealRun renders the real runs kept under results/testdata/runs (and
// this checkout's runs/, where a developer has run some).
func TestReportRealRun(t *testing.T) {
	runs, _ := filepath.Glob(filepath.Join("..", "testdata", "runs", "*", store.RunFile))
	mine, _ := filepath.Glob(filepath.Join("..", "..", "runs", "*", store.RunFile))
	runs = append(runs, mine...)
	if len(runs) < 3 {
		t.Fatalf("testdata/runs holds %d runs, want the 3 kept there", len(runs))
	}
	for _, r := range runs {
		var b bytes.Buffer
		if err := WriteReport(&b, []string{filepath.Dir(r)}, ReportOptions{}); err != nil {
			t.Errorf("%s: %v", filepath.Dir(r), err)
		} else if !strings.Contains(b.String(), "<svg") {
			t.Errorf("%s: no plot", filepath.Dir(r))
		}
	}
}
