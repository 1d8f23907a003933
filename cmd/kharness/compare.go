package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"kharness/results"
)

func compareCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	col := fs.String("col", "config", "column axis: config, kernel, or run (before/after: each RUN a column)")
	force := fs.Bool("force", false, "compare results from different accelerators, QEMU versions or guest CPUs")
	format := fs.String("format", "text", "output format: text, csv or json")
	alpha := fs.Float64("alpha", 0.05, "significance level: a change is called only if the Mann-Whitney U p-value is below it")
	threshold := thresholdFlag(0.02)
	fs.Var(&threshold, "threshold", "smallest change of the median called a regression or improvement, as \"2%\" or 0.02")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kharness compare [flags] RUN...")
		fmt.Fprintf(stderr, "\nExits %d if any cell is called a regression: p < alpha and its median worse\n"+
			"than the first column's by more than the threshold (higher is better for\n"+
			"rates such as B/s, lower for other units).\n\n", exitRegression)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	if *col != "config" && *col != "kernel" && *col != "run" {
		return fmt.Errorf("-col %q: want config, kernel or run", *col)
	}
	write := map[string]func(*results.Table, io.Writer) error{
		"text": (*results.Table).WriteText, "csv": (*results.Table).WriteCSV, "json": (*results.Table).WriteJSON,
	}[*format]
	if write == nil {
		return fmt.Errorf("-format %q: want text, csv or json", *format)
	}
	if !(*alpha > 0 && *alpha < 1) {
		return fmt.Errorf("-alpha %v: want a level in (0, 1), such as 0.05", *alpha)
	}
	th := float64(threshold)
	if th == 0 {
		th = -1 // CompareOptions reads 0 as the default; below 0 is no threshold
	}
	tab, err := results.Compare(fs.Args(), results.CompareOptions{Column: *col, Force: *force, Alpha: *alpha, Threshold: th})
	if err != nil {
		return err
	}
	if err := write(tab, stdout); err != nil {
		return err
	}
	if n := tab.Regressions(); n > 0 {
		return &exitError2{exitRegression, fmt.Errorf("%d cells called a regression (p < %v and a change of more than %s)", n, *alpha, threshold.String())}
	}
	return nil
}

// thresholdFlag is a fraction given as a percentage ("2%") or as a
// fraction ("0.02").
type thresholdFlag float64

func (f *thresholdFlag) String() string {
	return strconv.FormatFloat(float64(*f)*100, 'g', 4, 64) + "%"
}

func (f *thresholdFlag) Set(s string) error {
	num, pct := strings.CutSuffix(strings.TrimSpace(s), "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("want a percentage such as 2%% or a fraction such as 0.02")
	}
	if pct {
		v /= 100
	} else if v >= 1 {
		return fmt.Errorf("%s would be %s%%; write %s%% if that is meant", s, strconv.FormatFloat(v*100, 'g', -1, 64), s)
	}
	*f = thresholdFlag(v)
	return nil
}
