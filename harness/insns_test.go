package harness

import (
	"strings"
	"testing"
)

// TestInsnsMethodSaysTheRule: boot.bench's insns-method key says how the
// counts were made: the most common count of each length, and only where
// the stretches agree on one answer; not the minimum, which the code does
// not take.
func TestInsnsMethodSaysTheRule(t *testing.T) {
	for _, want := range []string{"most common", "insncount/"} {
		if !strings.Contains(insnsMethod, want) {
			t.Errorf("insns-method %q does not say %q", insnsMethod, want)
		}
	}
	if strings.Contains(insnsMethod, "min of") {
		t.Errorf("insns-method %q says the minimum, which the code does not take", insnsMethod)
	}
}
