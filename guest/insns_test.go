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
