package harness

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestProgressStep: a wait shows its time so far on a terminal and says
// how long it took; a short one leaves nothing behind.
func TestProgressStep(t *testing.T) {
	var b bytes.Buffer
	p := &Progress{W: &b, TTY: true}
	done := p.Step("guest image")
	time.Sleep(2300 * time.Millisecond)
	done()
	out := b.String()
	if !strings.Contains(out, "\r\033[Kguest image: 1s") || !strings.Contains(out, "guest image: done in 2.") {
		t.Errorf("output %q: want the running time and the total", out)
	}
	b.Reset()
	p.Step("kernel k")()
	if strings.Contains(b.String(), "done") {
		t.Errorf("a short step printed %q", b.String())
	}
	var nilP *Progress
	nilP.Step("x")() // a nil Progress reports nothing
}
