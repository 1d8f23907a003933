// Package tail gives the last lines of some output: what an error message
// quotes of QEMU's stderr, apt's or make's log, or a guest's console.
package tail

import "strings"

// Last returns the last n elements of s (all of s if it has fewer).
func Last[T any](s []T, n int) []T {
	return s[max(0, len(s)-max(n, 0)):]
}

// Lines returns the last n lines of s, white space around s trimmed.
func Lines(s string, n int) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	return Last(strings.Split(s, "\n"), n)
}
