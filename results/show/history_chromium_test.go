package show

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHistoryChromium opens a history page in headless Chromium: its
// screenshot must show the points and the steps' colours, and its DOM
// the plots, a linked point a kernel and benchmark, every step marked,
// the attributed step's functions and no script.
func TestHistoryChromium(t *testing.T) {
	bin := chromium(t)
	var b bytes.Buffer
	if err := WriteHistory(&b, historyPageFixture()); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "history.html")
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(t.TempDir(), "history.png")
	runChromium(t, bin, page, "--screenshot="+shot)
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
	for _, c := range []string{"#1f77b4", "#d62728", "#dcf3e0"} {
		if !hasColour(img, c) {
			t.Errorf("screenshot shows no pixel of %s (points, a step up, a step down's cell)", c)
		}
	}
	dom := string(runChromium(t, bin, page, "--dump-dom"))
	counts := map[string]int{}
	for _, s := range []string{"<svg", "<circle", `class="pt up"`, `class="pt down"`, "<script", "prandom_u32_state", `href="d/cells/x/boot-01-a2"`} {
		counts[s] = strings.Count(dom, s)
	}
	t.Logf("DOM: %d bytes, %v", len(dom), counts)
	if counts["<svg"] != 2 || counts["<circle"] != 6 || counts[`class="pt up"`] != 3 || counts[`class="pt down"`] != 1 {
		t.Errorf("DOM has %v: want 2 plots, 6 points, 3 steps up and 1 down marked", counts)
	}
	if counts["<script"] != 0 || counts["prandom_u32_state"] < 1 || counts[`href="d/cells/x/boot-01-a2"`] < 1 {
		t.Errorf("DOM has %v: want no script, the step's function and the pipe point's link", counts)
	}
}
