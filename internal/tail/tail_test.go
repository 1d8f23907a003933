package tail

import (
	"slices"
	"testing"
)

func TestLines(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want []string
	}{
		{"a\nb\nc\n", 2, []string{"b", "c"}},
		{"a\nb\n", 5, []string{"a", "b"}},
		{"\n  \n", 3, nil},
		{"a\nb", 0, []string{}},
	} {
		if got := Lines(tc.s, tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("Lines(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
	if got := Last([]int{1, 2, 3}, -1); len(got) != 0 {
		t.Errorf("Last(-1) = %v, want none", got)
	}
}
