package vm

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"kharness/kernels"
	"kharness/results/stream"
)

// pluginSource is kharness's instruction-counting TCG plugin (see its
// comment): built with the host's C compiler into the cache on first use.
//
//go:embed tcgplugin/insncount.c
var pluginSource []byte

// InsnsModes are the values of the config's insns key and run's -insns.
var InsnsModes = []string{"auto", "on", "off"}

// ErrNoInsns means exact counts were asked for ("on") where they cannot be
// made: under KVM, or without a C compiler to build the plugin.
var ErrNoInsns = errors.New("exact instruction counts unavailable")

// ChooseInsns decides whether this run's boots count instructions, and
// returns the plugin's path ("" for no counting) and a note for the user
// when the answer is not what a reader of the table would assume. Under
// KVM the guest runs on the real CPU and nothing counts its instructions:
// "auto" then times only, "on" is an error.
func ChooseInsns(ctx context.Context, mode, accel, cacheDir string) (plugin, note string, err error) {
	switch mode {
	case "off":
		return "", "", nil
	case "", "auto", "on":
	default:
		return "", "", fmt.Errorf("insns %q: want auto, on or off", mode)
	}
	if accel != "tcg" {
		if mode == "on" {
			return "", "", fmt.Errorf("%w: insns = \"on\" needs TCG (the accelerator is %s, where the guest runs on the real CPU)", ErrNoInsns, accel)
		}
		return "", "exact instruction counts: none under " + accel + " (the guest runs on the real CPU); the table has time only", nil
	}
	plugin, err = BuildPlugin(ctx, cacheDir)
	if err != nil {
		if mode == "on" {
			return "", "", fmt.Errorf("%w: %v", ErrNoInsns, err)
		}
		return "", fmt.Sprintf("exact instruction counts: off (%v); the table has time only", err), nil
	}
	return plugin, "", nil
}

// BuildPlugin returns the path of the counting plugin built for this host,
// building it into cacheDir (empty: kernels.DefaultCacheDir) when the
// cache lacks it. The file is named by a hash of the source and the
// compiler's version, and is written to a temporary name and renamed into
// place, so two processes can build at once.
func BuildPlugin(ctx context.Context, cacheDir string) (string, error) {
	if cacheDir == "" {
		d, err := kernels.DefaultCacheDir()
		if err != nil {
			return "", err
		}
		cacheDir = d
	}
	cc, err := exec.LookPath("gcc")
	if err != nil {
		return "", fmt.Errorf("building the counting plugin: no gcc on PATH (apt-get install gcc)")
	}
	ver, err := exec.CommandContext(ctx, cc, "-dumpfullversion").Output()
	if err != nil {
		return "", fmt.Errorf("building the counting plugin: %s -dumpfullversion: %w", cc, err)
	}
	h := sha256.New()
	h.Write(pluginSource)
	h.Write(bytes.TrimSpace(ver))
	dir := filepath.Join(cacheDir, "plugins")
	path := filepath.Join(dir, "insncount-"+hex.EncodeToString(h.Sum(nil))[:16]+".so")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("building the counting plugin: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return "", fmt.Errorf("building the counting plugin: %w", err)
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "insncount.c")
	if err := os.WriteFile(src, pluginSource, 0o644); err != nil {
		return "", fmt.Errorf("building the counting plugin: %w", err)
	}
	so := filepath.Join(tmp, "insncount.so")
	cmd := exec.CommandContext(ctx, cc, "-O2", "-Wall", "-shared", "-fPIC", "-fvisibility=hidden", "-o", so, src)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the counting plugin: %s: %w: %s", strings.Join(cmd.Args, " "), err, bytes.TrimSpace(out))
	}
	if err := os.Rename(so, path); err != nil {
		return "", fmt.Errorf("building the counting plugin: %w", err)
	}
	return path, nil
}

// InsnsMethod is the boot.bench value of stream.InsnsMethodKey: what
// stream.InsnsResults does, said where it is done.
const InsnsMethod = stream.InsnsMethod

// AddInsns pairs a boot's plugin output at path with its stream and appends
// the exact-count lines to the stream, and for each counted benchmark
// without a count (its stretches gave no one answer) an insns-none
// comment that says why. An error is the boot's failure: the counts do
// not fit the stream.
func AddInsns(s *stream.Stream, path string) error {
	lines, none, err := stream.InsnsFromFile(s, path)
	if err != nil {
		return err
	}
	s.Results = append(s.Results, lines...)
	for _, n := range none {
		s.Comments = append(s.Comments, n.Comment())
	}
	return nil
}
