package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"kharness/harness"
	"kharness/kernels"
	"kharness/results/stream"
)

// kernelsCmd lists the Debian kernels kharness can boot: every suite it
// knows (or one), in version order, with the package that holds each
// image and the suite it comes from.
func kernelsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kernels", flag.ContinueOnError)
	fs.SetOutput(stderr)
	suite := fs.String("suite", "", "one Debian suite ("+strings.Join(kernels.KnownSuites, ", ")+"); default all")
	family := fs.String("family", "", "only this family: a series such as 6.18, or a major version such as 7")
	flavour := fs.String("flavour", kernels.DefaultFlavour, "Debian kernel flavour")
	update := fs.Bool("update", false, "read the suites' lists again even if they are fresh (they are refreshed after 12 hours)")
	asJSON := fs.Bool("json", false, "print JSON")
	cache := fs.String("cache", "", "cache directory (default $KHARNESS_CACHE or ~/.cache/kharness)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() != 0 {
		return badFlag(fmt.Errorf("kernels takes no arguments, got %q", fs.Args()))
	}
	if *family != "" {
		if err := (kernels.Source{Family: *family, Flavour: *flavour, Suite: *suite}).Validate(); err != nil {
			return badFlag(err)
		}
	}
	a, err := kernels.OpenArchive(*cache)
	if err != nil {
		return err
	}
	p := &harness.Progress{W: stderr, TTY: isTerminal(stderr)}
	a.Logf = p.Logf
	if *update {
		if err := a.Update(ctx, true); err != nil {
			return err
		}
	}
	var cs []kernels.Candidate
	if *family != "" {
		cs, err = a.Family(ctx, *family, *flavour, *suite)
	} else {
		cs, err = a.Kernels(ctx, *flavour, *suite)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(cs)
	}
	return writeKernels(stdout, cs)
}

// writeKernels prints one kernel a line and, after them, how many each
// suite holds.
func writeKernels(w io.Writer, cs []kernels.Candidate) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "upstream\trelease\tsuite\tpackage\tversion\tMB")
	per := map[string]int{}
	// A cached apt index is outside text: its fields are shown without
	// control characters.
	pr := func(s string) string { return stream.Printable(s, 200) }
	for _, c := range cs {
		per[c.Suite]++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.0f\n", pr(c.Upstream), pr(c.Release), pr(c.Suite), pr(c.Package), pr(c.Version), float64(c.Size)/1e6)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var parts []string
	for _, s := range kernels.KnownSuites {
		if per[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s, per[s]))
		}
	}
	_, err := fmt.Fprintf(w, "%d kernels: %s\n", len(cs), strings.Join(parts, ", "))
	return err
}
