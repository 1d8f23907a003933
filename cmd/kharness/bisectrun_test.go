package main

import (
	"kharness/internal/filelock"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"kharness/harness"
	"kharness/kernels"
)

// linuxSourceTarball is what Debian's linux-source-6.1 installs.
const linuxSourceTarball = "/usr/src/linux-source-6.1.tar.xz"

// buildDeps is what a kernel build needs besides gcc and make (CI: .ci/deps).
var buildDeps = []string{"linux-source-6.1", "flex", "bison", "bc", "libelf-dev"}

// TestBisectRunNamesSlowCommit builds Debian's 6.1 source as a git tree
// with four commits on top, one of which puts an ndelay(500) in getppid,
// and checks that `git bisect run kharness bisect-run` names that commit.
// The unpacked tree and the builds are cached (KHARNESS_TEST_CACHE or the
// user cache): the first run builds one kernel cold (minutes on 2 cores)
// and the rest incrementally; a rerun finds every bzImage built.
//
// It runs after the package's other tests (t.Parallel): a cold kernel build
// keeps both of CI's cores busy, so at the end of the package it fills time
// in which the serial one-VM tests would leave a core idle.
func TestBisectRunNamesSlowCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and boots kernels; not in -short mode")
	}
	t.Parallel()
	if _, err := exec.LookPath(harness.DefaultQEMU); err != nil {
		t.Fatalf("%s not found: install qemu-system-x86 (make deps)", harness.DefaultQEMU)
	}
	start := time.Now()
	tree, fresh := linuxTree(t)
	treeTime := time.Since(start)

	// Four commits on the base, made the same way every run so that their
	// hashes (and so the cached builds) are the same.
	git(t, tree, "bisect", "reset")
	git(t, tree, "checkout", "-qf", "--detach", "kharness-base")
	good := gitHead(t, tree)
	getppid := "SYSCALL_DEFINE0(getppid)\n{\n\tint pid;\n\n"
	var commits []string
	for _, c := range []struct{ msg, file, old, new string }{
		{"sys: say what getppid returns", "kernel/sys.c", getppid, "/* the tgid of the parent, as this task's pid namespace sees it */\n" + getppid},
		{"sys: slow getppid down", "kernel/sys.c", getppid, getppid + "\tndelay(500);\n"},
		{"README: a line", "README", "", "Booted by kharness.\n"},
		{"mm: a comment", "mm/mmap.c", "#include <linux/kernel.h>\n", "#include <linux/kernel.h>\n/* kharness bisect test */\n"},
	} {
		path := filepath.Join(tree, c.file)
		data, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(data), c.old) {
			t.Fatalf("%s: %q not found (%v)", c.file, c.old, err)
		}
		text := string(data) + c.new
		if c.old != "" {
			text = strings.Replace(string(data), c.old, c.new, 1)
		}
		if strings.Contains(c.new, "ndelay") {
			text = strings.Replace(text, "#include <linux/export.h>\n", "#include <linux/delay.h>\n#include <linux/export.h>\n", 1)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, tree, "commit", "-qam", c.msg)
		commits = append(commits, gitHead(t, tree))
	}
	slow, bad := commits[1], commits[3]

	tmp := t.TempDir()
	cache := cacheDir(t)
	// The smallest kernel that still shows the step (testKernelFragment);
	// -config merges it onto kharness's QEMU config.
	frag := filepath.Join(tmp, "small.config")
	if err := os.WriteFile(frag, []byte(testKernelFragment), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := []string{"-stat", "min", "-boots", "5", "-cache", cache, "-config", frag}
	git(t, tree, "checkout", "-q", good)
	refStart := time.Now()
	cmd := kharnessCmd(t, tmp, append([]string{"bisect-run", "-measure"}, opts...)...)
	cmd.Dir = tree
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t.Logf("reference step:\n%s", stderr.String())
	if err != nil {
		t.Fatalf("bisect-run -measure: %v", err)
	}
	m := regexp.MustCompile(`^([0-9a-f]{40}) ([0-9.]+) ns/op (/\S+)\n$`).FindStringSubmatch(string(out))
	if m == nil || m[1] != good {
		t.Fatalf("bisect-run -measure printed %q; want %s, a median and its run directory", out, good)
	}
	ref, _ := strconv.ParseFloat(m[2], 64)
	refTime := time.Since(refStart)

	// ndelay(500) takes the null syscall from ~270 to ~1,030 ns under TCG.
	// On a shared 2-core host a boot now and then reads ~1.7× (~450 ns for
	// a good kernel), so bad means twice the reference, called over 5
	// boots a side (the smallest p a Mann-Whitney U test of 5 against 5
	// can give is 0.008).
	bisectStart := time.Now()
	git(t, tree, "bisect", "start", bad, good)
	defer git(t, tree, "bisect", "reset")
	// Each step's boots against the reference's, as compare calls them.
	run := exec.Command("git", append([]string{"bisect", "run", binary, "bisect-run", "-ref", m[3], "-threshold", "100%"}, opts...)...)
	run.Dir = tree
	run.Env = kharnessCmd(t, tmp).Env
	log, err := run.CombinedOutput()
	bisectTime := time.Since(bisectStart)
	t.Logf("git bisect run:\n%s", log)
	t.Logf("timings: tree %v (unpacked and committed now: %v); reference %.1f ns/op in %v (build + 5 boots); bisect over %d commits in %v",
		treeTime.Round(time.Second), fresh, ref, refTime.Round(time.Second), len(commits), bisectTime.Round(time.Second))
	if err != nil {
		t.Fatalf("git bisect run: %v", err)
	}
	first := regexp.MustCompile(`(?m)^([0-9a-f]{40}) is the first bad commit$`).FindSubmatch(log)
	if first == nil || string(first[1]) != slow {
		t.Fatalf("git bisect run named %q; want the slow commit %s", first, slow)
	}
	if !strings.Contains(string(log), ": bad") || !strings.Contains(string(log), "Mann-Whitney U") {
		t.Errorf("no step line saying bad, by a Mann-Whitney U test, in the output")
	}
}

// testKernelFragment trims kharness's QEMU config for the bisection test to
// the smallest kernel that still boots the guest and times getppid: no
// networking, no 32-bit entry, one CPU, the AMD vendor code only (TCG's
// qemu64 is an AMD part), no mitigations, no SLUB debugging and only the
// gzip initramfs decompressor: a cold build in 252 s instead of 320 s on
// 2 cores. (PERF_EVENTS stays: x86 selects it; objtool stays: x86_64
// selects it for uaccess validation.)
const testKernelFragment = `# CONFIG_NET is not set
# CONFIG_IA32_EMULATION is not set
# CONFIG_SMP is not set
CONFIG_PROCESSOR_SELECT=y
# CONFIG_CPU_SUP_INTEL is not set
# CONFIG_CPU_SUP_HYGON is not set
# CONFIG_CPU_SUP_CENTAUR is not set
# CONFIG_CPU_SUP_ZHAOXIN is not set
# CONFIG_CPU_MITIGATIONS is not set
# CONFIG_SLUB_DEBUG is not set
# CONFIG_RD_BZIP2 is not set
# CONFIG_RD_LZMA is not set
# CONFIG_RD_XZ is not set
# CONFIG_RD_LZO is not set
# CONFIG_RD_LZ4 is not set
# CONFIG_RD_ZSTD is not set
`

// linuxTree returns Debian's linux-source-6.1 unpacked into a git
// repository whose one commit is tagged kharness-base, cached under the
// test cache by the tarball's sha256, and holds a lock on it for the rest
// of the test. It installs what is missing when run as root.
func linuxTree(t *testing.T) (tree string, fresh bool) {
	t.Helper()
	_, statErr := os.Stat(linuxSourceTarball)
	if statErr != nil || kernels.CheckBuildTools(t.Context()) != nil {
		install := "apt-get install -y " + strings.Join(buildDeps, " ")
		if os.Getuid() != 0 {
			t.Fatalf("kernel source or build tools missing; as root: %s", install)
		}
		if out, err := exec.Command("sh", "-c", "DEBIAN_FRONTEND=noninteractive "+install+" || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive "+install+"; }").CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", install, err, out)
		}
	}
	if err := kernels.CheckBuildTools(t.Context()); err != nil {
		t.Fatal(err)
	}
	sum, err := kernels.SHA256File(linuxSourceTarball)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cacheDir(t), "test-linux-source", sum[:16])
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := filelock.Lock(t.Context(), dir+".lock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unlock)
	ready := filepath.Join(dir, ".kharness-ready")
	if _, err := os.Stat(ready); err == nil {
		return dir, false
	}
	os.RemoveAll(dir)
	os.RemoveAll(dir + ".tmp")
	if err := os.Mkdir(dir+".tmp", 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tar", "-xJf", linuxSourceTarball, "-C", dir+".tmp", "--strip-components=1").CombinedOutput(); err != nil {
		t.Fatalf("unpacking %s: %v\n%s", linuxSourceTarball, err, out)
	}
	// Debian's packaging ignores everything at the top level ("/*").
	gi := filepath.Join(dir+".tmp", ".gitignore")
	data, err := os.ReadFile(gi)
	if err != nil {
		t.Fatal(err)
	}
	if i := strings.Index(string(data), "#\n# Debian packaging"); i >= 0 {
		data = data[:i]
	}
	if err := os.WriteFile(gi, data, 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, dir+".tmp", "init", "-q")
	// Stored uncompressed: zlib over 1.5 GB was most of the add's time.
	git(t, dir+".tmp", "-c", "core.looseCompression=0", "add", "-A", "-f")
	git(t, dir+".tmp", "commit", "-qm", "Debian linux-source-6.1")
	git(t, dir+".tmp", "tag", "kharness-base")
	if err := os.Rename(dir+".tmp", dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ready, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, true
}

// git runs git in dir as a fixed author at a fixed time, so that the same
// commits get the same hashes every run. bisect reset may fail harmlessly.
func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	const who, when = "kharness test", "2026-01-01T00:00:00Z"
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME="+who, "GIT_AUTHOR_EMAIL=test@kharness.invalid", "GIT_AUTHOR_DATE="+when,
		"GIT_COMMITTER_NAME="+who, "GIT_COMMITTER_EMAIL=test@kharness.invalid", "GIT_COMMITTER_DATE="+when)
	if out, err := cmd.CombinedOutput(); err != nil && args[0] != "bisect" {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func gitHead(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// TestBisectRunExitCodes checks the codes git bisect run reads: a problem
// that every commit would share aborts the bisect (128), a commit that does
// not build is skipped (125).
func TestBisectRunExitCodes(t *testing.T) {
	tmp := t.TempDir()
	notKernel := t.TempDir()
	git(t, notKernel, "init", "-q")
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "Makefile"), []byte("tinyconfig olddefconfig bzImage:\n\t@echo 'init/main.c:1:1: error: broken'; exit 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, broken, "init", "-q")
	git(t, broken, "add", "Makefile")
	git(t, broken, "commit", "-qm", "broken")
	tools := kernels.CheckBuildTools(t.Context())
	for _, c := range []struct {
		name string
		dir  string
		args []string
		code int
		want string
	}{
		{"no reference", broken, nil, bisectAbort, "give one reference"},
		{"two references", broken, []string{"-ref-ns", "300", "-ref", tmp}, bisectAbort, "give one reference"},
		{"bad flag", broken, []string{"-ref-ns", "300", "-nope"}, bisectAbort, "-nope"},
		{"bad stat", broken, []string{"-ref-ns", "300", "-stat", "mean"}, bisectAbort, "want median or min"},
		{"bad threshold", broken, []string{"-ref-ns", "300", "-threshold", "20"}, bisectAbort, "2000%"},
		{"no stored run", broken, []string{"-ref", filepath.Join(tmp, "none")}, bisectAbort, "none"},
		{"empty stored run", broken, []string{"-ref", tmp}, bisectAbort, "no ok boot"},
		{"not a kernel tree", notKernel, []string{"-ref-ns", "300"}, bisectAbort, "not a kernel source tree"},
		{"build fails", broken, []string{"-ref-ns", "300"}, bisectSkip, "build failed: skip"},
	} {
		if tools != nil && c.code != bisectAbort {
			t.Logf("%s: not run: %v", c.name, tools)
			continue
		}
		if tools != nil {
			c.want = "" // the missing tools are said first
		}
		cmd := kharnessCmd(t, tmp, append([]string{"bisect-run", "-cache", filepath.Join(tmp, "cache")}, c.args...)...)
		cmd.Dir = c.dir
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != c.code || !strings.Contains(string(out), c.want) {
			t.Errorf("%s: exit %d, want %d with %q; output:\n%s", c.name, code, c.code, c.want, out)
		}
	}
}
