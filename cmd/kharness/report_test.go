package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportCommand(t *testing.T) {
	dir := compareRun(t, []string{"a", "b"}, map[string][]float64{
		"a": {100, 101, 102, 103, 104}, "b": {1610, 1620, 1630, 1640, 1650}})
	out := filepath.Join(t.TempDir(), "new", "report.html")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"report", "-o", out, dir}, &stdout, &stderr); err != nil {
		t.Fatalf("report: %v\n%s", err, stderr.String())
	}
	if got := stdout.String(); got != "wrote "+out+"\n" {
		t.Errorf("stdout = %q", got)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<!DOCTYPE html>", "<svg", "<figcaption>Getpid-2 <span", "<title>kharness report</title>"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Kernels in the columns: b is a regression against a, but a report
	// is not a check, and exits 0.
	stdout.Reset()
	err = run(context.Background(), []string{"report", "-col", "kernel", "-title", "a vs b", "-o", out, dir}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("report -col kernel: %v", err)
	}
	if page, _ = os.ReadFile(out); !bytes.Contains(page, []byte(`class="call regression"`)) || !bytes.Contains(page, []byte("<h1>a vs b</h1>")) {
		t.Errorf("report -col kernel lacks the regression or the title")
	}
}

func TestReportCommandErrors(t *testing.T) {
	dir := compareRun(t, []string{"a"}, map[string][]float64{"a": {100, 101, 102}})
	for _, tc := range []struct {
		args  []string
		usage bool
		want  string
	}{
		{args: []string{"report"}, usage: true},
		{args: []string{"report", "-o", "", dir}, usage: true},
		{args: []string{"report", "-nope", dir}, usage: true},
		{args: []string{"report", "-col", "cpu", dir}, want: `-col "cpu"`},
		{args: []string{"report", "-alpha", "2", dir}, want: "-alpha 2"},
		{args: []string{"report", "-o", filepath.Join(t.TempDir(), "r.html"), filepath.Join(t.TempDir(), "missing")}, want: "missing"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, &stdout, &stderr)
		switch {
		case tc.usage && !errors.Is(err, errUsage):
			t.Errorf("%q: err = %v, want a usage error", tc.args, err)
		case !tc.usage && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: err = %v, want one saying %q", tc.args, err, tc.want)
		}
	}
}
