package harnesstest

import (
	"io"
	"strings"
	"testing"
)

// Log is a writer that logs each write through t.Log, for a run's
// progress in a booting test.
func Log(t *testing.T) io.Writer { return logWriter{t} }

type logWriter struct{ t *testing.T }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
