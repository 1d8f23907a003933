package kernels

import (
	"context"
	"errors"
	"kharness/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeMakefile stands in for a kernel tree's: tinyconfig writes a config
// with tinyconfig's choices, olddefconfig drops whatever DROP lists,
// bzImage copies fake.bzImage and counts builds; a tree with a file BROKEN
// does not compile.
const fakeMakefile = `O ?= .
tinyconfig:
	mkdir -p $(O)
	echo tiny >> $(O)/configs
	printf 'CONFIG_CC_OPTIMIZE_FOR_SIZE=y\nCONFIG_KERNEL_XZ=y\n# CONFIG_64BIT is not set\nCONFIG_LOCALVERSION=""\n' > $(O)/.config
olddefconfig:
	for s in $$(cat DROP 2>/dev/null); do sed -i "/^CONFIG_$$s=/d" $(O)/.config; done
bzImage:
	test ! -f BROKEN || { echo 'kernel/sys.c:1:1: error: expected something'; exit 1; }
	mkdir -p $(O)/arch/x86/boot
	cp fake.bzImage $(O)/arch/x86/boot/bzImage
	echo built >> $(O)/builds
`

func gitRun(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.org"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func fakeTree(t *testing.T) string {
	t.Helper()
	testenv.Need(t, "apt-get install -y make", "make")
	tree := t.TempDir()
	writeFile(t, filepath.Join(tree, "Makefile"), fakeMakefile)
	writeFile(t, filepath.Join(tree, "fake.bzImage"), string(fakeBzImage()))
	writeFile(t, filepath.Join(tree, "sys.c"), "int x;\n")
	gitRun(t, tree, "init", "-q")
	gitRun(t, tree, "add", "-A")
	gitRun(t, tree, "commit", "-qm", "base")
	return tree
}

func builds(t *testing.T, b *TreeBuild) int {
	data, _ := os.ReadFile(filepath.Join(b.BuildDir, "builds"))
	return strings.Count(string(data), "built")
}

func configs(t *testing.T, b *TreeBuild) int {
	data, _ := os.ReadFile(filepath.Join(b.BuildDir, "configs"))
	return strings.Count(string(data), "tiny")
}

func commitFile(t *testing.T, tree, name, data string) {
	t.Helper()
	writeFile(t, filepath.Join(tree, name), data)
	gitRun(t, tree, "add", name)
	gitRun(t, tree, "commit", "-qm", "change "+name)
}

func TestBuildTree(t *testing.T) {
	tree := fakeTree(t)
	ctx := context.Background()
	opt := BuildOptions{Tree: tree, CacheDir: t.TempDir(), CC: "gcc"}
	b1, err := BuildTree(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if b1.Cached || builds(t, b1) != 1 || b1.Kernel.Release != "6.1.0-test-amd64" || len(b1.Commit) != 40 {
		t.Fatalf("first build: cached %v, %d builds, release %q, commit %q", b1.Cached, builds(t, b1), b1.Kernel.Release, b1.Commit)
	}
	cfg, err := os.ReadFile(b1.Kernel.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	got := parseConfig(cfg)
	for sym, want := range map[string]string{"64BIT": "y", "KERNEL_XZ": "n", "CC_OPTIMIZE_FOR_SIZE": "n", "EVENTFD": "y",
		"SERIAL_8250_RUNTIME_UARTS": "4", "LOCALVERSION": `""`} {
		if got[sym] != want {
			t.Errorf("stored config: CONFIG_%s=%q, want %q", sym, got[sym], want)
		}
	}
	if len(b1.Warnings) != 0 {
		t.Errorf("warnings %q", b1.Warnings)
	}
	cfgInfo, _ := os.Stat(filepath.Join(b1.BuildDir, ".config"))

	// The same commit again: from the cache, make not run.
	b2, err := BuildTree(ctx, opt)
	if err != nil || !b2.Cached || builds(t, b2) != 1 || b2.Kernel.Path != b1.Kernel.Path {
		t.Fatalf("second build: %v, cached %v, %d builds", err, b2 != nil && b2.Cached, builds(t, b1))
	}

	// A modified tracked file is another kernel.
	time.Sleep(10 * time.Millisecond)
	writeFile(t, filepath.Join(tree, "sys.c"), "int y;\n")
	b3, err := BuildTree(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if b3.Cached || !strings.HasPrefix(b3.Commit, b1.Commit+"+dirty-") || b3.BuildDir != b1.BuildDir || builds(t, b3) != 2 {
		t.Fatalf("dirty build: cached %v, commit %q, dir %s, %d builds", b3.Cached, b3.Commit, b3.BuildDir, builds(t, b3))
	}
	gitRun(t, tree, "checkout", "-q", "sys.c")
	if b, err := BuildTree(ctx, opt); err != nil || !b.Cached {
		t.Fatalf("clean again: %v, not cached", err)
	}
	if configs(t, b3) != 1 {
		t.Errorf("%d configs made for a commit and its dirty tree, want 1", configs(t, b3))
	}

	// A new commit that leaves the Kconfig files alone keeps the config;
	// a commit that changes one makes it again (keeping the mtime of an
	// unchanged result, so that make does not rerun syncconfig).
	commitFile(t, tree, "sys.c", "int z;\n")
	b5, err := BuildTree(ctx, opt)
	if err != nil || b5.Cached || builds(t, b5) != 3 || configs(t, b5) != 1 {
		t.Fatalf("new commit: %v, cached %v, %d builds, %d configs; want 3 and 1", err, b5 != nil && b5.Cached, builds(t, b1), configs(t, b1))
	}
	commitFile(t, tree, "Kconfig", "config X\n")
	if b, err := BuildTree(ctx, opt); err != nil || configs(t, b) != 2 {
		t.Fatalf("Kconfig changed: %v, %d configs; want 2", err, configs(t, b1))
	}
	if info, _ := os.Stat(filepath.Join(b1.BuildDir, ".config")); !info.ModTime().Equal(cfgInfo.ModTime()) {
		t.Errorf("a config made again the same moved its mtime from %v to %v", cfgInfo.ModTime(), info.ModTime())
	}
	writeFile(t, filepath.Join(tree, "Kconfig"), "config Y\n")
	if b, err := BuildTree(ctx, opt); err != nil || configs(t, b) != 3 {
		t.Fatalf("Kconfig changed in the work tree: %v, %d configs; want 3", err, configs(t, b1))
	}
	gitRun(t, tree, "checkout", "-q", "Kconfig")

	// A fragment is another config, in another build directory; it wins
	// over kharness's options, and what olddefconfig drops is reported.
	frag := filepath.Join(t.TempDir(), "frag.config")
	writeFile(t, frag, "# CONFIG_MAGIC_SYSRQ is not set\nCONFIG_LOCALVERSION=\"-kh\"\nCONFIG_HZ_100=y\n")
	writeFile(t, filepath.Join(tree, "DROP"), "HZ_100 PERF_EVENTS\n")
	opt.Fragment = frag
	b4, err := BuildTree(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if b4.ConfigKey == b1.ConfigKey || b4.BuildDir == b1.BuildDir || b4.Cached {
		t.Fatalf("fragment build shares key %s, dir %s, or cached %v", b4.ConfigKey, b4.BuildDir, b4.Cached)
	}
	cfg, _ = os.ReadFile(b4.Kernel.ConfigPath)
	if got := parseConfig(cfg); got["MAGIC_SYSRQ"] != "n" || got["LOCALVERSION"] != `"-kh"` {
		t.Errorf("fragment not applied: MAGIC_SYSRQ=%q LOCALVERSION=%q", got["MAGIC_SYSRQ"], got["LOCALVERSION"])
	}
	want := []string{"CONFIG_HZ_100=n (fragment asked y)", "CONFIG_PERF_EVENTS=n (kharness asked y)"}
	if strings.Join(b4.Warnings, "|") != strings.Join(want, "|") {
		t.Errorf("warnings %q, want %q", b4.Warnings, want)
	}
	commitFile(t, tree, "sys.c", "int w;\n")
	b6, err := BuildTree(ctx, opt)
	if err != nil || configs(t, b6) != 1 || strings.Join(b6.Warnings, "|") != strings.Join(want, "|") {
		t.Errorf("config kept: %v, %d configs, warnings %q; want 1 and %q", err, configs(t, b4), b6.Warnings, want)
	}

	// A fragment that takes away what the image needs cannot build a
	// kernel that reports: a build failure, with the reason.
	writeFile(t, frag, "# CONFIG_SERIAL_8250 is not set\nCONFIG_SERIAL_8250_RUNTIME_UARTS=1\n")
	_, err = BuildTree(ctx, opt)
	if !errors.Is(err, ErrBuildFailed) || !strings.Contains(err.Error(), "CONFIG_SERIAL_8250=n") || !strings.Contains(err.Error(), "RUNTIME_UARTS=1") {
		t.Errorf("fragment without the 8250: %v", err)
	}
}

func TestBuildTreeFailures(t *testing.T) {
	tree := fakeTree(t)
	ctx := context.Background()
	opt := BuildOptions{Tree: tree, CacheDir: t.TempDir(), CC: "gcc"}

	// A commit that does not compile is the commit's failure, with make's
	// last lines.
	writeFile(t, filepath.Join(tree, "BROKEN"), "")
	gitRun(t, tree, "add", "BROKEN")
	gitRun(t, tree, "commit", "-qm", "broken")
	_, err := BuildTree(ctx, opt)
	if !errors.Is(err, ErrBuildFailed) || !strings.Contains(err.Error(), "expected something") {
		t.Fatalf("broken commit: %v", err)
	}

	// Problems of the machine or the caller are not ErrBuildFailed.
	for name, o := range map[string]BuildOptions{
		"no tree":      {Tree: filepath.Join(tree, "nope"), CacheDir: opt.CacheDir},
		"no fragment":  {Tree: tree, CacheDir: opt.CacheDir, Fragment: filepath.Join(tree, "nope")},
		"not git":      {Tree: t.TempDir(), CacheDir: opt.CacheDir},
		"in-tree .cfg": {Tree: tree, CacheDir: opt.CacheDir},
	} {
		if name == "not git" {
			writeFile(t, filepath.Join(o.Tree, "Makefile"), fakeMakefile)
		}
		if name == "in-tree .cfg" {
			writeFile(t, filepath.Join(tree, ".config"), "CONFIG_64BIT=y\n")
		}
		_, err := BuildTree(ctx, o)
		if err == nil || errors.Is(err, ErrBuildFailed) {
			t.Errorf("%s: %v, want an error that is not ErrBuildFailed", name, err)
		}
		os.Remove(filepath.Join(tree, ".config"))
	}
}

func TestMergeConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".config")
	writeFile(t, path, "#\n# comment\n#\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x\"\nCONFIG_AB=m\n")
	if err := mergeConfigFile(path, map[string]string{"A": "n", "B": "y", "D": "4", "C": `"y z"`}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "#\n# comment\n#\n# CONFIG_A is not set\nCONFIG_B=y\nCONFIG_C=\"y z\"\nCONFIG_AB=m\nCONFIG_D=4\n"
	if string(got) != want {
		t.Errorf("merged:\n%s\nwant:\n%s", got, want)
	}
}
