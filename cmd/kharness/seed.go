package main

import (
	"flag"
	"fmt"
	"io"
	"kharness/results/show"
	"kharness/results/stats"
)

// seedCmd is "kharness seed RUN...": the seed post's lat_ctx table.
func seedCmd(args []string, stdout, stderr io.Writer) error {
	dirs, err := runDirs("seed", args, stderr)
	if err != nil {
		return err
	}
	rows, err := stats.Seed(dirs...)
	if err != nil {
		return err
	}
	accel, err := stats.RunAccel(dirs...)
	if err != nil {
		return err
	}
	return show.WriteSeed(stdout, rows, accel)
}

// fidelityCmd is "kharness fidelity RUN...": Go ÷ C per case of the
// fidelity check.
func fidelityCmd(args []string, stdout, stderr io.Writer) error {
	dirs, err := runDirs("fidelity", args, stderr)
	if err != nil {
		return err
	}
	rows, err := stats.Fidelity(dirs...)
	if err != nil {
		return err
	}
	return show.WriteFidelity(stdout, rows)
}

// syscall2002Cmd is "kharness syscall2002 RUN...": the December 2002
// table, INT $0x80 against the fast 32-bit entry per kernel and vendor.
func syscall2002Cmd(args []string, stdout, stderr io.Writer) error {
	dirs, err := runDirs("syscall2002", args, stderr)
	if err != nil {
		return err
	}
	rows, err := stats.Syscall2002(0.05, dirs...)
	if err != nil {
		return err
	}
	accel, err := stats.RunAccel(dirs...)
	if err != nil {
		return err
	}
	return show.WriteSyscall2002(stdout, rows, accel)
}

// runDirs parses the flags (none) and RUN arguments of a table command.
func runDirs(name string, args []string, stderr io.Writer) ([]string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintf(stderr, "usage: kharness %s RUN...\n", name) }
	if err := fs.Parse(args); err != nil {
		return nil, errUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return nil, errUsage
	}
	return fs.Args(), nil
}

// tableCmd runs the seed or fidelity view.
func tableCmd(name string, args []string, stdout, stderr io.Writer) error {
	switch name {
	case "seed":
		return seedCmd(args, stdout, stderr)
	case "syscall2002":
		return syscall2002Cmd(args, stdout, stderr)
	}
	return fidelityCmd(args, stdout, stderr)
}
