package harness

import (
	"bytes"
	"kharness/results/store"
	"kharness/results/stream"
	"regexp"
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
	// Any whole second and total: a loaded host handles the ticker late.
	if !regexp.MustCompile(`\r\033\[Kguest image: [0-9]+s`).MatchString(out) || !regexp.MustCompile(`guest image: done in [0-9]+\.[0-9]s`).MatchString(out) {
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

// A step's detail (a download's bytes) joins its time so far, and a log's
// boot lines say how long the rest should take.
func TestProgressDetailAndLeft(t *testing.T) {
	var b bytes.Buffer
	tty := &Progress{W: &b, TTY: true}
	done := tty.StepDetail("kernel k", func() string { return "12.3 MB downloaded" })
	time.Sleep(2500 * time.Millisecond)
	done()
	if !regexp.MustCompile(`kernel k: [0-9]+s, 12\.3 MB downloaded`).MatchString(b.String()) {
		t.Errorf("output %q: want the bytes beside the time", b.String())
	}
	b.Reset()
	p := &Progress{W: &b}
	p.Begin(4, 0, 1)
	p.started = time.Now().Add(-10 * time.Second)
	p.BootDone(&store.BootRecord{Cell: "k--c", Status: store.StatusOK}, true, "")
	if !strings.Contains(b.String(), "[1/4] k--c boot 0 attempt 0: ok") || !strings.Contains(b.String(), "s left") {
		t.Errorf("boot line %q: want how long the other 3 should take", b.String())
	}
}

// A boot's first result is on screen as soon as the boot is done: on its
// line in a log, on the updating line on a terminal.
func TestProgressFirstResult(t *testing.T) {
	s := &stream.Stream{Results: []stream.Result{{Name: "NullSyscall/call=getppid", Iters: 1000,
		Values: []stream.Value{{Value: 512.5, Unit: "ns/op"}, {Value: 7, Unit: "ref-ns/op"}}},
		{Name: "NullSyscall/call=getppid", Iters: 1000, Values: []stream.Value{{Value: 530, Unit: "ns/op"}}},
		{Name: "NullSyscall/call=getppid", Iters: 4, Values: []stream.Value{{Value: 325, Unit: "insns/op"}, {Value: 321, Unit: "kinsns/op"}}}}}
	first := firstResult(s)
	if first != "NullSyscall/call=getppid 325 insns/op 512.5 ns/op" {
		t.Fatalf("firstResult = %q", first)
	}
	for _, tty := range []bool{false, true} {
		var b bytes.Buffer
		p := &Progress{W: &b, TTY: tty}
		p.Begin(2, 0, 1)
		p.BootDone(&store.BootRecord{Cell: "6.1--default", Status: store.StatusOK}, true, first)
		if !strings.Contains(b.String(), "6.1--default") || !strings.Contains(b.String(), "325 insns/op 512.5 ns/op") {
			t.Errorf("tty %v: output %q lacks the boot's first result", tty, b.String())
		}
	}
	if firstResult(nil) != "" || firstResult(&stream.Stream{}) != "" {
		t.Error("a boot without results gave a first result")
	}
}

// TestProgressLogfControlChars: a progress line built from outside text
// (a Version: field of a cached apt index, in run's "fetching" line)
// reaches the terminal with its control characters replaced: no escape
// sequence retitles or recolours it.
func TestProgressLogfControlChars(t *testing.T) {
	for _, tty := range []bool{false, true} {
		var b bytes.Buffer
		p := &Progress{W: &b, TTY: tty}
		p.Logf("kernel %s: fetching %s", "k", "linux-image-6.1.0-57-cloud-amd64-unsigned 6.1.1\x1b]0;TITLE\a\x1b[31m\u009b31m")
		out := strings.TrimPrefix(b.String(), "\r\033[K")
		if strings.ContainsAny(out, "\x1b\a\u009b") || !strings.Contains(out, "6.1.1?]0;TITLE??[31m") || !strings.HasSuffix(out, "m\n") {
			t.Errorf("TTY %v: printed %q; want the control characters replaced and the line ended", tty, out)
		}
	}
}
