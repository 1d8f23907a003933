//go:build linux

package guest

import (
	"testing"

	"kharness/results/wire"
)

// TestMarkTagSendsDigits: the count phase sends the plugin its
// benchmark's tag, one digit marker a hex digit, in order; the host
// checks the tag the plugin writes against the benchmark the comment
// names.
func TestMarkTagSendsDigits(t *testing.T) {
	saved := markDigits
	defer func() { markDigits = saved }()
	var got []byte
	for d := range markDigits {
		markDigits[d] = func() { got = append(got, "0123456789abcdef"[d]) }
	}
	tag := wire.InsnsTag("NullSyscall/call=getppid")
	markTag(tag)
	if string(got) != tag || len(tag) != wire.InsnsTagDigits {
		t.Errorf("markTag(%q) sent %q", tag, got)
	}
}

// TestCountedCommentClock: a count phase that recorded its clocksource
// sends it as one word, which the host's pattern reads.
func TestCountedCommentClock(t *testing.T) {
	c := Counted{Iters: 1, Ops: 2, Reps: 30}
	if got, want := c.Comment("BenchmarkX"), "insns BenchmarkX iters=1 ops-per-iter=2 reps=30"; got != want {
		t.Errorf("no clock: %q, want %q", got, want)
	}
	c.Clock = "acpi pm"
	if got, want := c.Comment("BenchmarkX"), "insns BenchmarkX iters=1 ops-per-iter=2 reps=30 clock=acpi_pm"; got != want {
		t.Errorf("a clock: %q, want %q", got, want)
	}
}
