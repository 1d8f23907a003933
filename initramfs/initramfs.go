// Package initramfs builds, with u-root's image builder, the initramfs
// kharness VMs boot. The run image (Build) holds the guest benchmark
// program as /init (it runs itself as the guest) and its helpers, nothing
// else: every timed boot unpacks it. The shell image (BuildShell) adds
// u-root's busybox with its init and a small shell with a few core commands
// for a person who needs to look around (shell mode boots through u-root's
// init, which runs the guest as its uinit).
package initramfs

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"kharness/internal/filelock"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/u-root/gobusybox/src/pkg/golang"
	"github.com/u-root/mkuimage/uimage"
	uinitramfs "github.com/u-root/mkuimage/uimage/initramfs"
	"github.com/u-root/uio/llog"
)

// ModulePath is the Go module whose source tree the image is built from.
const ModulePath = "kharness"

// GuestPath is where the guest benchmark program lives inside the image
// (guest.GuestPath names the same file); /init links to it.
const GuestPath = "/bin/kguest"

// KrefPath is where the image holds the C reference of the fidelity check
// (fidelity/kref.c, built with gcc -O2 -static), when gcc is present.
const KrefPath = "/bin/kref"

// Guest32Path is where the image holds the guest's 32-bit helper
// (cmd/kguest32; bench.Kguest32Path names the same file).
const Guest32Path = "/bin/kguest32"

// KrefSource is the C reference's source file, relative to the module root.
const KrefSource = "fidelity/kref.c"

// DefaultCommands are the u-root commands in every image. Each must be listed
// as a tool directive in go.mod, or `go mod tidy` drops its dependencies.
var DefaultCommands = []string{
	"init", "gosh", "ls", "cat", "dmesg", "echo", "mount", "ps", "uname",
	"poweroff", "shutdown", "sleep", "mkdir", "rm", "cp", "grep",
}

// formatVersion changes whenever the layout of the image changes, so stale
// cache entries are never reused.
const formatVersion = "kharness-initramfs-3"

// Options say how to build an image.
type Options struct {
	// SourceDir is the root of the kharness module (the directory holding
	// its go.mod). FindSourceDir finds it.
	SourceDir string
	// CacheDir holds built images, one file per input hash.
	CacheDir string
	// Log receives progress lines; nil discards them.
	Log func(format string, args ...any)
}

// Image is a built initramfs.
type Image struct {
	Path   string // the cpio archive
	Key    string // hash of every input
	Cached bool   // true when no build was needed
}

// FindSourceDir returns $KHARNESS_SRC, or the nearest directory at or above
// start whose go.mod declares the kharness module. It fails with a message
// saying how to point kharness at its source when neither is found: the
// image is compiled from source so that it always matches the binary.
func FindSourceDir(start string) (string, error) {
	if d := os.Getenv("KHARNESS_SRC"); d != "" {
		if !isModuleDir(d) {
			return "", fmt.Errorf("KHARNESS_SRC=%s: no go.mod for module %q there", d, ModulePath)
		}
		return d, nil
	}
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	for {
		if isModuleDir(dir) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("finding the kharness source tree from %s: none found (run from the checkout or set KHARNESS_SRC)", start)
		}
		dir = parent
	}
}

func isModuleDir(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := strings.TrimSpace(s.Text()); strings.HasPrefix(line, "module ") {
			return strings.TrimSpace(strings.TrimPrefix(line, "module ")) == ModulePath
		}
	}
	return false
}

// Build returns the run image for the current source tree, building it only
// when no image with the same inputs is cached: the guest as /init, its
// 32-bit helper and the C reference, nothing else. Every timed boot's kernel
// unpacks it, so it carries no u-root busybox: 5.6 MB of the 10.8 MB image
// were the busybox, which only the shell mode runs (BuildShell). Two
// processes building at once serialise on a lock file: one builds, the other
// finds the result.
func Build(ctx context.Context, opt Options) (*Image, error) {
	logf := opt.logf()
	dir := filepath.Join(opt.CacheDir, "initramfs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating initramfs cache: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return nil, fmt.Errorf("creating initramfs build dir: %w", err)
	}
	defer os.RemoveAll(tmp)

	guest := filepath.Join(tmp, "kguest")
	done := slowStep(logf, "image: compiling the guest (cmd/kguest, linux/amd64)")
	err = buildGuest(ctx, opt.SourceDir, guest)
	done()
	if err != nil {
		return nil, err
	}
	guest32 := filepath.Join(tmp, "kguest32")
	done = slowStep(logf, "image: compiling the 32-bit helper (cmd/kguest32, linux/386)")
	err = buildGo(ctx, opt.SourceDir, guest32, "./cmd/kguest32", "386")
	done()
	if err != nil {
		return nil, err
	}
	kref := filepath.Join(tmp, "kref")
	done = slowStep(logf, "image: compiling the C reference (gcc "+KrefSource+")")
	err = buildKref(ctx, opt.SourceDir, kref)
	done()
	if err != nil {
		logf("no C reference in the image (the fidelity check will skip): %v", err)
		kref = ""
	}
	key, err := inputKey(opt.SourceDir, kref, guest, guest32)
	if err != nil {
		return nil, err
	}
	return cached(ctx, dir, key, func(out string) error {
		logf("image: packing the cpio archive for initramfs %s", key[:12])
		return createRun(ctx, opt.SourceDir, tmp, guest, guest32, kref, out)
	})
}

// BuildShell returns the shell mode's image: the run image (Build) with
// u-root's busybox of DefaultCommands added, its init at UrootInit, the
// guest as its uinit and gosh as the shell. It is built on the first
// `kharness shell`, not by a run.
func BuildShell(ctx context.Context, opt Options) (*Image, error) {
	run, err := Build(ctx, opt)
	if err != nil {
		return nil, err
	}
	logf := opt.logf()
	dir := filepath.Join(opt.CacheDir, "initramfs")
	h := sha256.New()
	fmt.Fprintf(h, "shell\n%s\n%s\n", run.Key, strings.Join(DefaultCommands, ","))
	key := hex.EncodeToString(h.Sum(nil))
	return cached(ctx, dir, key, func(out string) error {
		tmp, err := os.MkdirTemp(dir, ".build-")
		if err != nil {
			return fmt.Errorf("creating initramfs build dir: %w", err)
		}
		defer os.RemoveAll(tmp)
		logf("image: compiling u-root's busybox (%d commands: %s) for the shell image %s", len(DefaultCommands), strings.Join(DefaultCommands, " "), key[:12])
		return createShell(ctx, opt.SourceDir, tmp, run.Path, out)
	})
}

func (opt Options) logf() func(string, ...any) {
	if opt.Log == nil {
		return func(string, ...any) {}
	}
	return opt.Log
}

// cached returns the image dir/key.cpio, calling build to write it (to a
// file it renames into place) when it is not there. The lock makes two
// processes building one key at once build it once.
func cached(ctx context.Context, dir, key string, build func(out string) error) (*Image, error) {
	img := &Image{Path: filepath.Join(dir, key+".cpio"), Key: key}
	if _, err := os.Stat(img.Path); err == nil {
		img.Cached = true
		return img, nil
	}
	unlock, err := filelock.Lock(ctx, filepath.Join(dir, key+".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := os.Stat(img.Path); err == nil {
		img.Cached = true // another process built it while we waited
		return img, nil
	}
	out := img.Path + ".tmp"
	defer os.Remove(out)
	if err := build(out); err != nil {
		return nil, err
	}
	if err := os.Rename(out, img.Path); err != nil {
		return nil, fmt.Errorf("storing initramfs: %w", err)
	}
	return img, nil
}

// slowStep logs what, once, if the step it names is still going after a
// second: a cold build says which compile it is in, a warm one (each
// step done from Go's build cache in well under a second) says nothing.
// The returned done ends the step.
func slowStep(logf func(string, ...any), what string) (done func()) {
	t := time.AfterFunc(time.Second, func() { logf("%s", what) })
	return func() { t.Stop() }
}

// buildGuest compiles the guest program as a static linux/amd64 binary.
func buildGuest(ctx context.Context, src, out string) error {
	return buildGo(ctx, src, out, "./cmd/kguest", "amd64")
}

// buildGo compiles the command pkg of the module at src as a static
// linux/goarch binary: the guest program, and its 32-bit helper
// (cmd/kguest32, linux/386: the null system call from a 32-bit process).
// Both are stripped of the symbol table and DWARF (-s -w), which no one
// reads in the guest (a Go traceback needs neither): every boot's kernel
// unpacks the image, and 2.4 MB of it were those sections.
func buildGo(ctx context.Context, src, out, pkg, goarch string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s (linux/%s) in %s: %w\n%s", pkg, goarch, src, err, b)
	}
	return nil
}

// buildKref compiles the C reference as a static binary with gcc.
func buildKref(ctx context.Context, src, out string) error {
	if _, err := exec.LookPath("gcc"); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "gcc", "-O2", "-static", "-s", "-o", out, filepath.Join(src, KrefSource))
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gcc %s: %w\n%s", KrefSource, err, b)
	}
	return nil
}

// inputKey hashes everything the image depends on: the guest binary, the
// C reference's source (when kref was built), the module's dependency pins
// (which fix u-root's version) and the Go toolchain.
func inputKey(src, kref string, guests ...string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\nkref=%t\n", formatVersion, runtime.Version(), kref != "")
	files := append(slices.Clone(guests), filepath.Join(src, "go.mod"), filepath.Join(src, "go.sum"))
	if kref != "" {
		files = append(files, filepath.Join(src, KrefSource))
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return "", fmt.Errorf("hashing initramfs inputs: %w", err)
		}
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return "", fmt.Errorf("hashing %s: %w", f, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// createRun writes the run image with u-root's image builder: the guest
// (also /init), its 32-bit helper and, when kref is not "", the C
// reference.
func createRun(ctx context.Context, src, tmp, guest, guest32, kref, out string) error {
	files := []string{guest + ":" + strings.TrimPrefix(GuestPath, "/"), guest32 + ":" + strings.TrimPrefix(Guest32Path, "/")}
	if kref != "" {
		files = append(files, kref+":"+strings.TrimPrefix(KrefPath, "/"))
	}
	return create(ctx, src, tmp, out,
		uimage.WithFiles(files...),
		uimage.WithInit(GuestPath),
	)
}

// createShell writes the shell image: the run image at base, whose /init
// stays, with u-root's busybox added. gobusybox forces `go build -a`;
// -a=false turns that off, which takes a warm rebuild from ~14 s to ~3 s
// with identical output.
func createShell(ctx context.Context, src, tmp, base, out string) error {
	var pkgs []string
	for _, c := range DefaultCommands {
		pkgs = append(pkgs, "github.com/u-root/u-root/cmds/core/"+c)
	}
	return create(ctx, src, tmp, out,
		uimage.WithBaseFile(base),
		uimage.WithExistingInit(true),
		uimage.WithBusyboxCommands(pkgs...),
		uimage.WithBusyboxBuildOpts(&golang.BuildOpts{ExtraArgs: []string{"-a=false"}, EnableInlining: true}),
		uimage.WithUinit(GuestPath, "-guest"),
		uimage.WithShell("gosh"),
	)
}

// create runs u-root's image builder with mods, writing out.
func create(ctx context.Context, src, tmp, out string, mods ...uimage.Modifier) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var msgs strings.Builder
	l := llog.New(slog.LevelWarn, func(format string, v ...any) { fmt.Fprintf(&msgs, format+"\n", v...) })
	env := golang.Default(golang.DisableCGO(), golang.WithGOOS("linux"), golang.WithGOARCH("amd64"), golang.WithWorkingDir(src))
	work := filepath.Join(tmp, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		return err
	}
	mods = append([]uimage.Modifier{
		uimage.WithReplaceEnv(env),
		uimage.WithTempDir(work),
		uimage.WithSkipLDD(),
		uimage.WithOutput(&uinitramfs.CPIOFile{Path: out}),
	}, mods...)
	if err := uimage.Create(l, mods...); err != nil {
		return fmt.Errorf("building u-root initramfs: %w\n%s", err, msgs.String())
	}
	return nil
}
