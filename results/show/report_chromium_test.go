package show

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"kharness/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// chromium returns the path of Debian's chromium. Without one the test
// skips, or fails where CI=true.
func chromium(t *testing.T) string {
	t.Helper()
	return testenv.Need(t, "apt-get install -y chromium", "chromium", "/usr/bin/chromium")
}

// runChromium runs headless chromium on the file page with a fresh
// profile, plus args, and returns its standard output.
func runChromium(t *testing.T, bin, page string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--window-size=1200,900"}, args...)
	cmd := exec.CommandContext(ctx, bin, append(args, "file://"+page)...)
	// Chromium forks helpers: kill its whole process group on timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, stderr.Bytes())
	}
	return stdout.Bytes()
}

// TestReportChromium opens a report in headless Chromium: its screenshot
// must show the plots, in each config's colour, and its DOM must hold the
// plots, the points, the table's calls and no script.
func TestReportChromium(t *testing.T) {
	bin := chromium(t)
	root := t.TempDir()
	out, _ := writeReport(t, root, reportRun(t, root))
	out, err := filepath.Abs(out)
	if err != nil {
		t.Fatal(err)
	}

	shot := filepath.Join(t.TempDir(), "report.png")
	runChromium(t, bin, out, "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatalf("decoding the screenshot: %v", err)
	}
	colours, nonWhite, total := pixelStats(img)
	t.Logf("screenshot %v: %d colours, %.1f%% not white", img.Bounds().Size(), colours, 100*float64(nonWhite)/float64(total))
	if colours < 50 || float64(nonWhite) < 0.02*float64(total) {
		t.Errorf("screenshot looks blank: %d distinct colours, %d of %d pixels not white", colours, nonWhite, total)
	}
	for i, c := range seriesColors[:2] {
		if !hasColour(img, c) {
			t.Errorf("screenshot shows no pixel of series %d's colour %s", i, c)
		}
	}

	dom := string(runChromium(t, bin, out, "--dump-dom"))
	counts := map[string]int{}
	for _, s := range []string{"<svg", "<circle", "<path", "<table", `class="call regression"`, "<script", "<img"} {
		counts[s] = strings.Count(dom, s)
	}
	t.Logf("DOM: %d bytes, %v", len(dom), counts)
	if counts["<svg"] != 2 || counts["<circle"] != 50 || counts["<path"] < 4 {
		t.Errorf("DOM has %d <svg, %d <circle, %d <path; want 2 plots, 50 boot points and a line a series", counts["<svg"], counts["<circle"], counts["<path"])
	}
	if counts["<table"] < 1 || counts[`class="call regression"`] != 4 {
		t.Errorf("DOM has %d tables and %d regression calls, want the comparison table with 4 (2 kernels × 2 benchmarks)", counts["<table"], counts[`class="call regression"`])
	}
	if counts["<script"] != 0 || counts["<img"] != 0 {
		t.Errorf("DOM has %d <script and %d <img elements: a guest string was not escaped", counts["<script"], counts["<img"])
	}
	for _, want := range []string{"NullSyscall-2", "Getpid-2", "6.12.10-cloud", "pti-on (pti=on)", "&lt;script&gt;alert(1)&lt;/script&gt;"} {
		if !strings.Contains(dom, want) {
			t.Errorf("DOM lacks %q", want)
		}
	}
}

// pixelStats returns the number of distinct colours in img, its pixels
// that are not white, and all its pixels.
func pixelStats(img image.Image) (colours, nonWhite, total int) {
	seen := make(map[[3]uint32]bool)
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			if r>>8 < 245 || g>>8 < 245 || bl>>8 < 245 {
				nonWhite++
			}
			total++
		}
	}
	return len(seen), nonWhite, total
}

// hasColour reports whether img has a pixel within 8 per channel of the
// colour "#rrggbb".
func hasColour(img image.Image, hex string) bool {
	var want [3]int
	for i := range want {
		v := 0
		for _, c := range hex[1+2*i : 3+2*i] {
			v = v*16 + strings.IndexRune("0123456789abcdef", c)
		}
		want[i] = v
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			got := [3]int{int(r >> 8), int(g >> 8), int(bl >> 8)}
			near := true
			for i := range got {
				near = near && got[i]-want[i] <= 8 && want[i]-got[i] <= 8
			}
			if near {
				return true
			}
		}
	}
	return false
}
