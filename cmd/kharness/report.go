package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"kharness/internal/atomicfile"
	"kharness/results/show"
)

// reportSections are the extra sections every report gets, after the
// comparison table: the hook for sections that other parts of kharness
// add (a seed table, say) by appending to it from an init function.
var reportSections []show.ReportSectionFunc

func reportCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "report.html", "the HTML file to write")
	title := fs.String("title", "", "the page's title (default \"kharness report\")")
	cf := newCompareFlags(fs, "column axis of the table: config or kernel", "config", "kernel")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kharness report [flags] RUN...")
		fmt.Fprintln(stderr, "\nWrites one self-contained HTML file: a plot per benchmark, the comparison table\n"+
			"and every boot with links to its console log and QEMU command line (relative to\n"+
			"the file, so keep it beside the runs or move them together).")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() == 0 || *out == "" {
		fs.Usage()
		return errUsage
	}
	opt, err := cf.options()
	if err != nil {
		return badFlag(err)
	}
	if err := checkReportPath(*out); err != nil {
		return badFlag(err)
	}
	var page bytes.Buffer
	err = show.WriteReport(&page, fs.Args(), show.ReportOptions{
		Compare:  opt,
		Title:    *title,
		LinkBase: filepath.Dir(*out),
		Sections: reportSections,
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	if err := atomicfile.Write(*out, page.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}

// checkReportPath refuses a report path that could replace something that
// is not a report: the name must end in .html or .htm (so never a run's
// run.json or boot.bench), and what it names, if anything, must be a
// regular file (not a device such as /dev/full, a directory or a link:
// the report is renamed into place, which would replace them).
func checkReportPath(path string) error {
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".html" && ext != ".htm" {
		return fmt.Errorf("-o %s: a report's name ends in .html", path)
	}
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("-o %s: %w", path, err)
	case !st.Mode().IsRegular():
		return fmt.Errorf("-o %s: exists and is not a regular file (%v): not replaced", path, st.Mode().Type())
	}
	return nil
}
