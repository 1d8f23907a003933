package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"kharness/results"
)

// reportSections are the extra sections every report gets, after the
// comparison table: the hook for sections that other parts of kharness
// add (a seed table, say) by appending to it from an init function.
var reportSections []results.ReportSectionFunc

func reportCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "report.html", "the HTML file to write")
	title := fs.String("title", "", "the page's title (default \"kharness report\")")
	col := fs.String("col", "config", "column axis of the table: config or kernel")
	force := fs.Bool("force", false, "compare results from different accelerators, QEMU versions or guest CPUs")
	alpha := fs.Float64("alpha", 0.05, "significance level: a change is called only if the Mann-Whitney U p-value is below it")
	threshold := thresholdFlag(0.02)
	fs.Var(&threshold, "threshold", "smallest change of the median called a regression or improvement, as \"2%\" or 0.02")
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
	if *col != "config" && *col != "kernel" {
		return fmt.Errorf("-col %q: want config or kernel", *col)
	}
	if !(*alpha > 0 && *alpha < 1) {
		return fmt.Errorf("-alpha %v: want a level in (0, 1), such as 0.05", *alpha)
	}
	th := float64(threshold)
	if th == 0 {
		th = -1 // CompareOptions reads 0 as the default; below 0 is no threshold
	}
	var page bytes.Buffer
	err := results.WriteReport(&page, fs.Args(), results.ReportOptions{
		Compare:  results.CompareOptions{Column: *col, Force: *force, Alpha: *alpha, Threshold: th},
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
	if err := results.WriteFileAtomic(*out, page.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}
