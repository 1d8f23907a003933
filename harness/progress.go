package harness

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"kharness/results/store"
	"kharness/results/stream"
)

// Progress reports a run: on a terminal one line redrawn in place (boots
// done/total, failures, time left); otherwise a plain line per event, for
// logs. A nil *Progress reports nothing.
type Progress struct {
	W   io.Writer
	TTY bool

	mu      sync.Mutex
	total   int
	done    int
	failed  int
	jobs    int
	started time.Time
	drawn   bool
	last    string // the latest boot's cell and first result, for the TTY line
}

// Logf prints a line, above the progress line on a terminal. Its
// arguments may be outside text (an apt index's Version: field, a
// kernel's release): control characters are replaced, line by line.
func (p *Progress) Logf(format string, args ...any) {
	if p == nil {
		return
	}
	lines := strings.Split(fmt.Sprintf(format, args...), "\n")
	for i, l := range lines {
		lines[i] = stream.Printable(l, len(l)+1)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	fmt.Fprintln(p.W, strings.Join(lines, "\n"))
	p.draw()
}

// Begin starts counting total boots; skipped were done by an earlier run.
func (p *Progress) Begin(total, skipped, jobs int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.total, p.jobs, p.started, p.done, p.failed = total, jobs, time.Now(), 0, 0
	p.mu.Unlock()
	if skipped > 0 {
		p.Logf("%d boots already complete, %d to run (-j %d)", skipped, total, jobs)
	} else {
		p.Logf("%d boots to run (-j %d)", total, jobs)
	}
}

// BootDone records one committed attempt; last says whether the boot is
// finished (it succeeded or has no attempts left), first the boot's first
// result ("" for none), which the boot's line shows.
func (p *Progress) BootDone(r *store.BootRecord, last bool, first string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if last {
		p.done++
	}
	if !r.Status.OK() {
		p.failed++
	}
	if first != "" {
		p.last = r.Cell + ": " + first
	}
	if !p.TTY || !r.Status.OK() {
		p.clear()
		line := fmt.Sprintf("[%d/%d] %s boot %d attempt %d: %s in %.1fs", p.done, p.total, r.Cell, r.Boot, r.Attempt, r.Status, r.WallSeconds)
		if r.Reason != "" {
			line += ": " + stream.SafeText(r.Reason, 300)
		}
		if first != "" {
			line += ": " + first
		}
		if left := p.left(); !p.TTY && p.done < p.total && left != "?" {
			line += ", ~" + left + " left"
		}
		fmt.Fprintln(p.W, line)
	}
	p.draw()
}

// End finishes the progress line.
func (p *Progress) End() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		p.clear()
	}
}

func (p *Progress) clear() {
	if p.TTY && p.drawn {
		fmt.Fprint(p.W, "\r\033[K")
		p.drawn = false
	}
}

func (p *Progress) draw() {
	if !p.TTY || p.total == 0 {
		return
	}
	line := fmt.Sprintf("boots %d/%d  failed %d  -j %d  ~%s left", p.done, p.total, p.failed, p.jobs, p.left())
	if p.last != "" {
		line += "  " + p.last
	}
	if r := []rune(line); len(r) > 120 {
		line = string(r[:119]) + "…"
	}
	fmt.Fprintf(p.W, "\r%s\033[K", line)
	p.drawn = true
}

// left is the time the boots still to run should take at the pace so
// far, "?" before the first is done.
func (p *Progress) left() string {
	if p.done == 0 {
		return "?"
	}
	per := time.Since(p.started) / time.Duration(p.done)
	return (per * time.Duration(p.total-p.done)).Round(time.Second).String()
}

// Step reports a wait that may last more than a few seconds (a download,
// the image build): on a terminal a line that shows the time so far, once
// a second; otherwise a line every 15 s. The returned done stops it and,
// if the wait lasted over 2 s, says how long it took.
func (p *Progress) Step(what string) (done func()) { return p.StepDetail(what, nil) }

// StepDetail is Step whose lines also say detail(), when detail is not nil
// and says something (a download's bytes so far).
func (p *Progress) StepDetail(what string, detail func() string) (done func()) {
	if p == nil {
		return func() {}
	}
	start := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		period := 15 * time.Second
		if p.TTY {
			period = time.Second
		}
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				p.mu.Lock()
				so := time.Since(start).Round(time.Second).String()
				if detail != nil {
					if d := detail(); d != "" {
						so += ", " + d
					}
				}
				if p.TTY {
					fmt.Fprintf(p.W, "\r\033[K%s: %s", what, so)
					p.drawn = true
				} else {
					fmt.Fprintf(p.W, "%s: still at it, %s\n", what, so)
				}
				p.mu.Unlock()
			}
		}
	}()
	return func() {
		close(stop)
		wg.Wait()
		if d := time.Since(start); d > 2*time.Second {
			p.Logf("%s: done in %s", what, d.Round(100*time.Millisecond))
		} else {
			p.mu.Lock()
			p.clear()
			p.mu.Unlock()
		}
	}
}
