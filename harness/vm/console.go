package vm

import (
	"bytes"
	"fmt"
	"kharness/results/stream"
	"strings"
	"sync"
)

// Console scanner limits.
const (
	// MaxConsoleLine is the longest console line kept, in bytes; longer
	// lines are cut to at most this many bytes, ending in "…".
	MaxConsoleLine = 1024
	// ConsoleTailLines is how many complete lines a ConsoleScanner keeps
	// for Tail.
	ConsoleTailLines = 256
	// ConsoleCaptureLines is how many lines after a panic or oops line a
	// ConsoleScanner captures.
	ConsoleCaptureLines = 20
	// DefaultConsoleLimit is the flood limit NewConsoleScanner uses when
	// given a limit of zero or less.
	DefaultConsoleLimit = 16 << 20

	maxConsoleReason = 200
	panicMarker      = "Kernel panic - not syncing"
)

// oopsMarkers are the console texts that start an oops report.
var oopsMarkers = []string{"Oops:", "BUG: ", "general protection fault", "WARNING: CPU:", "kernel BUG at"}

// EventKind says what a console Event reports.
type EventKind int

// The kinds of console events. Each is sent at most once per scanner.
const (
	EventPanic EventKind = iota + 1 // a "Kernel panic - not syncing" line
	EventOops                       // the first oops, BUG or WARNING line
	EventFlood                      // the console passed its byte limit
)

// String returns "panic", "oops" or "flood".
func (k EventKind) String() string {
	switch k {
	case EventPanic:
		return "panic"
	case EventOops:
		return "oops"
	case EventFlood:
		return "flood"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is something a ConsoleScanner noticed that the host may act on,
// such as stopping QEMU early after a panic.
type Event struct {
	Kind EventKind
	// Line is the 1-based console line number: of the matching line, or
	// for EventFlood the line holding the first byte over the limit.
	Line int64
	// Reason is a short one-line description, SafeText'ed.
	Reason string
}

// ConsoleScanner watches kernel console bytes as they arrive (it is an
// io.Writer fed by a tee of the console), keeping what a person needs to
// see: the first panic and the first oops with the lines after them, and a
// tail of the console. It works on complete lines, so what it finds does
// not depend on how the bytes were split across writes. Its memory is
// bounded whatever the console sends: lines are cut at MaxConsoleLine
// bytes and only ConsoleTailLines of them are kept. All methods are safe
// for concurrent use.
type ConsoleScanner struct {
	mu       sync.Mutex
	limit    int64
	n        int64
	lines    int64 // complete lines seen
	partial  []byte
	cut      bool // partial was cut at MaxConsoleLine
	ring     [ConsoleTailLines]string
	head     int // next ring slot to write
	count    int // filled ring slots
	panicCap *consoleCapture
	oopsCap  *consoleCapture
	flooded  bool
	events   chan Event
}

type consoleCapture struct {
	lines  []string
	reason string
}

// NewConsoleScanner returns a scanner that reports a flood once more than
// limit bytes have been written; a limit of zero or less means
// DefaultConsoleLimit.
func NewConsoleScanner(limit int64) *ConsoleScanner {
	if limit <= 0 {
		limit = DefaultConsoleLimit
	}
	return &ConsoleScanner{
		limit:   limit,
		partial: make([]byte, 0, MaxConsoleLine),
		events:  make(chan Event, 3), // One slot per EventKind: sends never block or drop.
	}
}

// Write scans p. It always returns len(p), nil: the console's content is
// never an error. Lines may be split across writes; a "\r" before "\n" is
// dropped.
func (c *ConsoleScanner) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	if !c.flooded && c.n+int64(n) > c.limit {
		// Scan up to the first byte over the limit, then report the
		// flood, so that events come in the same order however the
		// console was split into writes.
		over := int(c.limit - c.n)
		c.scan(p[:over])
		c.flooded = true
		c.send(Event{Kind: EventFlood, Line: c.lines + 1, Reason: fmt.Sprintf("console output exceeded %d bytes", c.limit)})
		p = p[over:]
	}
	c.scan(p)
	return n, nil
}

// scan processes p.
func (c *ConsoleScanner) scan(p []byte) {
	c.n += int64(len(p))
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := MaxConsoleLine - len(c.partial); len(chunk) > room {
			chunk = chunk[:room]
			c.cut = true
		}
		c.partial = append(c.partial, chunk...)
		if i < 0 {
			break
		}
		c.endLine()
		p = p[i+1:]
	}
}

// Flush treats a pending partial line as complete, for when the console
// has ended without a final newline.
func (c *ConsoleScanner) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.partial) > 0 || c.cut {
		c.endLine()
	}
}

func (c *ConsoleScanner) send(ev Event) {
	select {
	case c.events <- ev:
	default:
	}
}

func (c *ConsoleScanner) partialText() string {
	raw := c.partial
	if !c.cut && len(raw) > 0 && raw[len(raw)-1] == '\r' {
		raw = raw[:len(raw)-1]
	}
	return stream.SafeTextCut(string(raw), MaxConsoleLine, c.cut)
}

// endLine processes the partial line as a complete line.
func (c *ConsoleScanner) endLine() {
	text := c.partialText()
	c.partial = c.partial[:0]
	c.cut = false
	c.lines++

	c.ring[c.head] = text
	c.head = (c.head + 1) % len(c.ring)
	if c.count < len(c.ring) {
		c.count++
	}

	for _, cp := range []*consoleCapture{c.panicCap, c.oopsCap} {
		if cp != nil && len(cp.lines) <= ConsoleCaptureLines {
			cp.lines = append(cp.lines, text)
		}
	}
	if c.panicCap == nil && strings.Contains(text, panicMarker) {
		reason := stripConsoleTimestamp(text)
		if _, after, ok := strings.Cut(text, panicMarker+":"); ok && strings.TrimSpace(after) != "" {
			reason = strings.TrimSpace(after)
		}
		c.panicCap = &consoleCapture{lines: []string{text}, reason: stream.SafeText(reason, maxConsoleReason)}
		c.send(Event{Kind: EventPanic, Line: c.lines, Reason: c.panicCap.reason})
	}
	if c.oopsCap == nil && isOopsLine(text) {
		c.oopsCap = &consoleCapture{lines: []string{text}, reason: stream.SafeText(stripConsoleTimestamp(text), maxConsoleReason)}
		c.send(Event{Kind: EventOops, Line: c.lines, Reason: c.oopsCap.reason})
	}
}

// isOopsLine reports whether text holds one of oopsMarkers, not preceded
// by a letter or digit (so "DEBUG: " is not "BUG: ").
func isOopsLine(text string) bool {
	for _, m := range oopsMarkers {
		for s, off := text, 0; ; {
			i := strings.Index(s, m)
			if i < 0 {
				break
			}
			if j := off + i; j == 0 || !alnum(text[j-1]) {
				return true
			}
			off += i + 1
			s = s[i+1:]
		}
	}
	return false
}

// stripConsoleTimestamp removes a leading printk timestamp such as
// "[    1.234567] ".
func stripConsoleTimestamp(s string) string {
	if !strings.HasPrefix(s, "[") {
		return s
	}
	end := strings.IndexByte(s, ']')
	if end < 0 || end > 24 {
		return s
	}
	for _, r := range s[1:end] {
		if r != ' ' && r != '.' && (r < '0' || r > '9') {
			return s
		}
	}
	return strings.TrimLeft(s[end+1:], " ")
}

func (cp *consoleCapture) get() ([]string, bool) {
	if cp == nil {
		return nil, false
	}
	return append([]string(nil), cp.lines...), true
}

// Panic returns the first line containing "Kernel panic - not syncing"
// and up to ConsoleCaptureLines complete lines that followed it so far,
// SafeText'ed; ok is false if no panic was seen.
func (c *ConsoleScanner) Panic() (lines []string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.panicCap.get()
}

// PanicReason returns a one-line reason for the first panic, such as
// "VFS: Unable to mount root fs on unknown-block(0,0)", or "" if no panic
// was seen.
func (c *ConsoleScanner) PanicReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.panicCap == nil {
		return ""
	}
	return c.panicCap.reason
}

// Oops returns the first line containing "Oops:", "BUG: ", "general
// protection fault", "WARNING: CPU:" or "kernel BUG at", and up to
// ConsoleCaptureLines complete lines that followed it so far, SafeText'ed;
// ok is false if none was seen.
func (c *ConsoleScanner) Oops() (lines []string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.oopsCap.get()
}

// OopsReason returns the first oops line without its timestamp, or "" if
// none was seen.
func (c *ConsoleScanner) OopsReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.oopsCap == nil {
		return ""
	}
	return c.oopsCap.reason
}

// Flooded reports whether more than the limit of bytes have been written.
func (c *ConsoleScanner) Flooded() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flooded
}

// Bytes returns the number of bytes written so far.
func (c *ConsoleScanner) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// Tail returns up to n of the last console lines, oldest first, SafeText'ed
// and at most MaxConsoleLine bytes each: the last complete lines (at most
// ConsoleTailLines of them) followed by the partial line being received,
// if any, which counts toward n.
func (c *ConsoleScanner) Tail(n int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n <= 0 {
		return nil
	}
	partial := len(c.partial) > 0 || c.cut
	k := n
	if partial {
		k--
	}
	k = min(k, c.count)
	out := make([]string, 0, k+1)
	for i := k; i > 0; i-- {
		out = append(out, c.ring[(c.head-i+len(c.ring))%len(c.ring)])
	}
	if partial {
		out = append(out, c.partialText())
	}
	return out
}

// Events returns a channel that receives an Event the first time a panic,
// an oops and a flood is seen (at most one of each). It is buffered so a
// slow reader never blocks Write and never misses an event. It is never
// closed.
func (c *ConsoleScanner) Events() <-chan Event {
	return c.events
}

// alnum reports whether c is an ASCII letter or digit.
func alnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}
