package main

import (
	"flag"
	"fmt"
	"io"

	"kharness/results"
)

func compareCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	col := fs.String("col", "config", "column axis: config or kernel")
	force := fs.Bool("force", false, "compare results from different accelerators, QEMU versions or guest CPUs")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kharness compare [flags] RUN...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	if *col != "config" && *col != "kernel" {
		return fmt.Errorf("-col %q: want config or kernel", *col)
	}
	tab, err := results.Compare(fs.Args(), results.CompareOptions{Column: *col, Force: *force})
	if err != nil {
		return err
	}
	return tab.WriteText(stdout)
}
