package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"kharness/harness"
	"kharness/harness/lava"
)

// lavaCmd writes a LAVA job for each boot of a config's matrix, or with
// -read reads the finished jobs' logs back into the run directory.
func lavaCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lava", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "run directory (default runs/<config>-lava-<time>)")
	read := fs.String("read", "", "read the finished jobs' logs of this run directory back into it")
	url := fs.String("url", "", "base URL a LAVA lab fetches the kernels and the guest image from (default: file:// URLs for a local lava-run)")
	insns := fs.String("insns", "", "auto, on or off: count instructions with the plugin (local lava-run only; default the config's)")
	cache := fs.String("cache", "", "cache for kernels and images (default $KHARNESS_CACHE or the XDG cache)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kharness lava [-o DIR] [-url BASE] [-insns auto|on|off] CONFIG.toml")
		fmt.Fprintln(stderr, "       kharness lava -read DIR")
		fmt.Fprintln(stderr, "writes DIR/lava/<cell>/boot-NN/{job,device}.yaml; put each job's log in log.yaml there, then -read")
		fmt.Fprintln(stderr, "prints a line a job that runs it under lava-run: the system's, or Debian's lava-dispatcher unpacked into the cache ("+lava.LavaEnv+"=system|unpacked picks)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *read != "" {
		if fs.NArg() != 0 {
			fs.Usage()
			return errUsage
		}
		n, failed, err := lava.ReadLava(*read)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %d boots read from LAVA logs, %d failed\n", *read, n, failed)
		if failed > 0 {
			return &exitError2{exitBootsFailed, nil}
		}
		return nil
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	cfgPath := fs.Arg(0)
	cfg, err := harness.LoadConfig(cfgPath)
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		name := strings.TrimSuffix(filepath.Base(cfgPath), filepath.Ext(cfgPath))
		dir = filepath.Join("runs", name+"-lava-"+time.Now().Format("20060102-150405"))
	}
	src, err := cacheAndSource(cache)
	if err != nil {
		return err
	}
	p := &harness.Progress{W: stderr, TTY: isTerminal(stderr)}
	jobs, err := lava.WriteLava(ctx, harness.RunOptions{
		Config: cfg, ConfigPath: cfgPath, OutDir: dir, CacheDir: *cache, SourceDir: src,
		Command: append([]string{"kharness", "lava"}, args...), Progress: p, Insns: *insns,
	}, lava.LavaOptions{URL: *url})
	if err != nil {
		return err
	}
	lavaRun := "lava-run"
	if *url == "" && len(jobs) > 0 {
		// The lava-run that runs here: the system's, or Debian's
		// unpacked into the cache (lava.LavaEnv picks).
		if r, err := lava.FindLavaRun(ctx, *cache); err != nil {
			fmt.Fprintf(stderr, "kharness lava: no lava-run to run the jobs here: %v\n", err)
		} else {
			lavaRun = r.Shell()
			fmt.Fprintf(stderr, "kharness lava: %s\n", r.Desc)
		}
	}
	for i, j := range jobs {
		fmt.Fprintf(stdout, "%s --device %s --job-id %d --output-dir %s %s 2> %s\n", lavaRun,
			filepath.Join(j.Dir, lava.LavaDeviceFile), i+1, filepath.Join(j.Dir, "out"),
			filepath.Join(j.Dir, lava.LavaJobFile), filepath.Join(j.Dir, lava.LavaLogFile))
	}
	fmt.Fprintf(stdout, "# %d jobs; then: kharness lava -read %s && kharness compare %s\n", len(jobs), dir, dir)
	return nil
}
