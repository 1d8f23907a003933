package kernels

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"kharness/internal/filelock"
	"kharness/internal/tail"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// ErrBuildFailed says a kernel tree did not configure or build: a property
// of the commit (git bisect's "cannot test"), not of the machine. Match it
// with errors.Is.
var ErrBuildFailed = errors.New("kernel build failed")

// buildFormat changes whenever the recipe changes, so that no bzImage built
// by an older recipe is reused.
const buildFormat = "kharness-kbuild-1"

// BuildOptions say which tree to build and where.
type BuildOptions struct {
	Tree     string // kernel source tree: a git work tree, built out of tree (make O=)
	CacheDir string // the kharness cache; builds go under CacheDir/kbuild
	Fragment string // optional config fragment (or whole .config) merged onto QEMUConfig
	Jobs     int    // make -j; runtime.NumCPU() when 0
	// CC is the compiler make is given; "ccache gcc" when ccache is on
	// PATH, else "gcc", when empty.
	CC  string
	Log io.Writer // make's output as it runs (it is also kept in build.log); nil discards it
}

// TreeBuild is a kernel built from a tree.
type TreeBuild struct {
	Kernel    *Kernel
	Commit    string // git rev-parse HEAD, plus "+dirty-<sha256 of git diff HEAD>" for a modified tree
	ConfigKey string // sha256 of the recipe and the fragment
	BuildDir  string // make O=
	Cached    bool   // the bzImage was in the cache: nothing was built
	Duration  time.Duration
	Warnings  []string // requested options the tree's olddefconfig did not keep
}

// BuildTree builds the bzImage of opt.Tree's checked-out commit, or returns
// the cached one. Build directories are keyed by tree and config, so
// successive commits of a bisect build incrementally; bzImages are kept
// under kbuild/bzimage/<commit>-<config key>/. An error wrapping
// ErrBuildFailed is the tree's failure (config or compile); any other
// error is the machine's or the caller's.
func BuildTree(ctx context.Context, opt BuildOptions) (*TreeBuild, error) {
	start := time.Now()
	tree, err := filepath.Abs(opt.Tree)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(tree, "Makefile")); err != nil {
		return nil, fmt.Errorf("%s is not a kernel source tree: %w", tree, err)
	}
	for _, f := range []string{".config", "include/config"} {
		if _, err := os.Stat(filepath.Join(tree, f)); err == nil {
			return nil, fmt.Errorf("%s holds an in-tree build (%s); kharness builds out of tree: run `make mrproper` there", tree, f)
		}
	}
	var frag []byte
	if opt.Fragment != "" {
		if frag, err = os.ReadFile(opt.Fragment); err != nil {
			return nil, fmt.Errorf("reading config fragment: %w", err)
		}
	}
	commit, err := TreeCommit(ctx, tree)
	if err != nil {
		return nil, err
	}
	root := opt.CacheDir
	if root == "" {
		if root, err = DefaultCacheDir(); err != nil {
			return nil, err
		}
	}
	root = filepath.Join(root, "kbuild")
	cfgKey := hashHex(buildFormat + "\n" + QEMUConfig + "\n--\n" + string(frag))
	b := &TreeBuild{Commit: commit, ConfigKey: cfgKey,
		BuildDir: filepath.Join(root, "build", cfgKey[:16]+"-"+hashHex(tree)[:8])}
	outDir := filepath.Join(root, "bzimage", commit+"-"+cfgKey[:16])
	for _, d := range []string{filepath.Dir(outDir), b.BuildDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("creating the build cache: %w", err)
		}
	}
	unlock, err := filelock.Lock(ctx, b.BuildDir+".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	if b.Kernel, err = builtKernel(outDir, commit); err == nil {
		b.Cached, b.Duration = true, time.Since(start)
		return b, nil
	}
	if b.Warnings, err = opt.make(ctx, tree, b.BuildDir, frag); err != nil {
		return nil, err
	}
	if err := storeBuild(b.BuildDir, outDir); err != nil {
		return nil, err
	}
	if b.Kernel, err = builtKernel(outDir, commit); err != nil {
		return nil, err
	}
	b.Duration = time.Since(start)
	return b, nil
}

// TreeCommit names what is checked out in tree: HEAD's commit, with
// "+dirty-" and 12 hex digits of the sha256 of `git diff HEAD` when tracked
// files differ from it (untracked files are not looked at).
func TreeCommit(ctx context.Context, tree string) (string, error) {
	head, err := gitOut(ctx, tree, "rev-parse", "--verify", "HEAD")
	if err != nil {
		return "", err
	}
	commit := strings.TrimSpace(string(head))
	status, err := gitOut(ctx, tree, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return "", err
	}
	if len(bytes.TrimSpace(status)) == 0 {
		return commit, nil
	}
	diff, err := gitOut(ctx, tree, "diff", "HEAD", "--binary")
	if err != nil {
		return "", err
	}
	return commit + "+dirty-" + hashHex(string(diff))[:12], nil
}

func gitOut(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s in %s: %w: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// builtKernel returns the finished bzImage in dir.
func builtKernel(dir, commit string) (*Kernel, error) {
	path := filepath.Join(dir, "bzImage")
	img, err := ReadBzImage(path)
	if err != nil {
		return nil, err
	}
	sum, err := SHA256File(path)
	if err != nil {
		return nil, err
	}
	return &Kernel{Source: "build:" + commit, Release: img.Release, SHA256: sum, Path: path,
		ConfigPath: filepath.Join(dir, "config")}, nil
}

// storeBuild copies the bzImage, config and log of buildDir into outDir,
// which appears by rename only once complete.
func storeBuild(buildDir, outDir string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(outDir), ".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for src, dst := range map[string]string{"arch/x86/boot/bzImage": "bzImage", ".config": "config", "build.log": "build.log"} {
		data, err := os.ReadFile(filepath.Join(buildDir, src))
		if err != nil {
			return fmt.Errorf("storing the build: %w", err)
		}
		if err := os.WriteFile(filepath.Join(tmp, dst), data, 0o444); err != nil {
			return fmt.Errorf("storing the build: %w", err)
		}
	}
	os.RemoveAll(outDir) // a broken entry that builtKernel refused
	if err := os.Rename(tmp, outDir); err != nil {
		return fmt.Errorf("storing the build: %w", err)
	}
	return nil
}

// make configures and builds in dir, keeping make's output in
// dir/build.log.
func (opt BuildOptions) make(ctx context.Context, tree, dir string, frag []byte) ([]string, error) {
	cc := opt.CC
	if cc == "" {
		cc = "gcc"
		if _, err := exec.LookPath("ccache"); err == nil && os.Getenv("CCACHE_DISABLE") == "" {
			cc = "ccache gcc"
		}
	}
	jobs := opt.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	logf, err := os.Create(filepath.Join(dir, "build.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	out := io.Writer(logf)
	if opt.Log != nil {
		out = io.MultiWriter(logf, opt.Log)
	}
	run := func(target ...string) error {
		args := append([]string{"-C", tree, "O=" + dir, "ARCH=x86_64", "CC=" + cc}, target...)
		fmt.Fprintf(out, "+ make %s\n", strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, "make", args...)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%w: make %s: %v\n%s", ErrBuildFailed, strings.Join(target, " "), err, logTail(logf.Name()))
		}
		return nil
	}
	warns, err := configure(ctx, tree, dir, cc, frag, run)
	if err != nil {
		return nil, err
	}
	return warns, run("-j"+strconv.Itoa(jobs), "bzImage")
}

// configure writes dir/.config: tinyconfig, then QEMUConfig and the
// fragment merged on, then olddefconfig. A tree whose Kconfig files are
// those of the last config made there (dir/kharness-config.stamp), with
// the same compiler, keeps it, which saves a bisect step about 15 s;
// otherwise an unchanged result keeps its old mtime, so that make does not
// rerun syncconfig.
func configure(ctx context.Context, tree, dir, cc string, frag []byte, run func(...string) error) ([]string, error) {
	cfgPath := filepath.Join(dir, ".config")
	stampPath := filepath.Join(dir, "kharness-config.stamp")
	var stamp string
	specs := []string{"--", ":(glob)**/Kconfig*", "scripts/kconfig", "kernel/configs", "arch/x86/configs"}
	files, err := gitOut(ctx, tree, append([]string{"ls-files", "-s"}, specs...)...)
	if err != nil {
		return nil, err
	}
	changed, err := gitOut(ctx, tree, append([]string{"diff", "--name-only", "HEAD"}, specs...)...)
	if err != nil {
		return nil, err
	}
	if len(changed) == 0 { // the index's listing is the work tree's
		stamp = hashHex(cc + "\n" + string(files))
		data, err := os.ReadFile(stampPath)
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if _, cfgErr := os.Stat(cfgPath); err == nil && cfgErr == nil && lines[0] == stamp {
			return lines[1:], nil
		}
	}
	os.Remove(stampPath)
	old, oldErr := os.ReadFile(cfgPath)
	oldInfo, statErr := os.Stat(cfgPath)
	if err := run("tinyconfig"); err != nil {
		return nil, err
	}
	want := parseConfig([]byte(QEMUConfig))
	user := parseConfig(frag)
	for k, v := range user {
		want[k] = v
	}
	if err := mergeConfigFile(cfgPath, want); err != nil {
		return nil, err
	}
	if err := run("olddefconfig"); err != nil {
		return nil, err
	}
	final, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, err
	}
	warns, err := checkConfig(parseConfig(final), want, user)
	if err != nil {
		return nil, err
	}
	if oldErr == nil && statErr == nil && bytes.Equal(old, final) {
		os.Chtimes(cfgPath, oldInfo.ModTime(), oldInfo.ModTime())
	}
	if stamp != "" {
		if err := os.WriteFile(stampPath, []byte(strings.Join(append([]string{stamp}, warns...), "\n")+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	return warns, nil
}

// logTail returns the last 20 lines of the build log at path.
func logTail(path string) string {
	data, _ := os.ReadFile(path)
	return strings.Join(tail.Lines(string(data), 20), "\n")
}
