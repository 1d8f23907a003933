package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kharness/internal/golden"
)

// TestGoldenTables pins every table kharness prints from stored runs, read
// from real runs kept under results/testdata/runs (boot.json, boot.bench, and the
// results stream where a table reads it; consoles and raw counts dropped):
// mkrun, `make run`'s default matrix (6.1 and 6.12, default and pti=on, 5
// boots a cell, beside a busy loop on one core); fid, `make fidelity`; s2002,
// configs/syscall2002.toml. The output of each command, stdout and stderr
// and the exit code, is its golden file: a change to the statistics, the
// store or a formatter shows there first.
func TestGoldenTables(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	runsDir := filepath.Join(wd, "..", "..", "results", "testdata", "runs")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"usage", nil},
		{"help", []string{"help"}},
		{"compare", []string{"compare", "mkrun"}},
		{"compare-csv", []string{"compare", "-format", "csv", "mkrun"}},
		{"compare-json", []string{"compare", "-format", "json", "mkrun"}},
		{"compare-host-correct", []string{"compare", "-host-correct", "mkrun"}},
		{"compare-col-kernel", []string{"compare", "-col", "kernel", "mkrun"}},
		{"compare-detect", []string{"compare", "-detect", "5%", "mkrun"}},
		{"compare-fid", []string{"compare", "fid"}},
		{"compare-kcidb", []string{"compare", "-format", "kcidb", "fid"}},
		{"seed", []string{"seed", "mkrun"}},
		{"fidelity", []string{"fidelity", "fid"}},
		{"syscall2002", []string{"syscall2002", "s2002"}},
		{"compare-s2002", []string{"compare", "s2002"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(runsDir)
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, &stdout, &stderr)
			code := exitCode(err, &stderr)
			var out bytes.Buffer
			fmt.Fprintf(&out, "$ kharness %s\n", strings.Join(tc.args, " "))
			out.Write(stdout.Bytes())
			if stderr.Len() > 0 {
				fmt.Fprintf(&out, "--- stderr\n%s", stderr.Bytes())
			}
			fmt.Fprintf(&out, "--- exit %d\n", code)
			golden.Check(t, filepath.Join(wd, "testdata", "out", tc.name+".golden"), out.Bytes())
		})
	}
}
