package store

import "testing"

// The reference's unit as the host reads it is the guest's, tidied.
func TestRefUnitTidied(t *testing.T) {
	if refUnit != "ref-sec/op" {
		t.Errorf("refUnit %q, want ref-sec/op (the guest's ref-ns/op as benchfmt tidies it)", refUnit)
	}
}
