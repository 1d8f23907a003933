package main

import (
	"kharness/harness/vm"
	"kharness/internal/filelock"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"kharness/kernels"
)

// linuxSourceTarball is what Debian's linux-source-6.1 installs.
const linuxSourceTarball = "/usr/src/linux-source-6.1.tar.xz"

// buildDeps is what a kernel build needs besides gcc and make (CI: .ci/deps).
var buildDeps = []string{"linux-source-6.1", "flex", "bison", "bc", "libelf-dev"}

// TestBisectRunNamesCostlyCommit builds Debian's 6.1 source as a git
// tree with six commits on top and runs `git bisect run kharness
// bisect-run` over them twice:
//
//   - by the exact count (the default under TCG), one boot a step: it
//     must name the commit that adds a loop of volatile increments to
//     getppid, print each step's count against the reference's, and name
//     getppid's function among those that account for the difference;
//   - by time, from that commit on, with the reference's kernel booted
//     beside each step: it must name the commit that puts an ndelay(500)
//     in getppid, or say it cannot decide between it and the bad end;
//     never another commit.
//
// The README and Documentation commits are judged good wherever they are
// judged. Neither verdict rests on host time against boots taken earlier,
// so a loaded host cannot flip it. The unpacked tree and the builds are
// cached (KHARNESS_TEST_CACHE or the user cache): the first run builds one
// kernel cold (minutes on 2 cores) and the rest incrementally.
//
// It runs after the package's other tests (t.Parallel): a cold kernel build
// keeps both of CI's cores busy, so at the end of the package it fills time
// in which the serial one-VM tests would leave a core idle.
func TestBisectRunNamesCostlyCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and boots kernels; not in -short mode")
	}
	t.Parallel()
	if _, err := exec.LookPath(vm.DefaultQEMU); err != nil {
		t.Fatalf("%s not found: install qemu-system-x86 (make deps)", vm.DefaultQEMU)
	}
	start := time.Now()
	tree, fresh := linuxTree(t)
	t.Logf("tree %v (unpacked and committed now: %v)", time.Since(start).Round(time.Second), fresh)
	commits := bisectTestCommits(t, tree)
	base, readme, costly, doc, slow, bad := commits[0], commits[2], commits[3], commits[4], commits[5], commits[6]

	tmp := t.TempDir()
	frag := filepath.Join(tmp, "small.config")
	if err := os.WriteFile(frag, []byte(testKernelFragment), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := []string{"-cache", cacheDir(t), "-config", frag}

	// By the count: the reference is the base, measured once.
	refDir := measureRef(t, tree, tmp, base, opts)
	log, first := gitBisectRun(t, tree, tmp, bad, base, append([]string{"-ref", refDir}, opts...))
	if len(first) != 1 || first[0] != costly {
		t.Fatalf("bisect by count named %q; want the commit adding instructions %s", first, costly)
	}
	verdicts := stepVerdicts(log)
	if verdicts[short(costly)] != "bad" || !regexp.MustCompile(`insns/op vs reference [0-9.]+ \(.*\): \+[0-9.]+ \(\+[0-9.]+%\)`).MatchString(log) {
		t.Errorf("no step line giving the costly commit's count, its difference and bad")
	}
	if !regexp.MustCompile(`(?m)^bisect-run [0-9a-f]{12}:\s+\+[0-9.]+\s+\S*getppid`).MatchString(log) {
		t.Errorf("the bad step's attribution does not name a getppid function")
	}
	if v, ok := verdicts[short(readme)]; ok && v != "good" {
		t.Errorf("the README commit was judged %s by count", v)
	}

	// By time, from the costly commit on: the reference's kernel boots
	// beside each step's.
	refDir = measureRef(t, tree, tmp, costly, opts)
	timeOpts := append([]string{"-metric", "time", "-ref", refDir, "-boots", "4", "-threshold", "50%"}, opts...)
	log, first = gitBisectRun(t, tree, tmp, bad, costly, timeOpts)
	switch {
	case len(first) == 1 && first[0] == slow:
	case len(first) > 1 && slices.Contains(first, slow):
		t.Logf("by time: cannot decide between %q (allowed: never a wrong commit)", first)
	default:
		t.Fatalf("bisect by time named %q; want the slow commit %s, or a set holding it", first, slow)
	}
	verdicts = stepVerdicts(log)
	if v, ok := verdicts[short(doc)]; ok && v == "bad" {
		t.Errorf("the Documentation commit was judged bad by time")
	}
	if v, ok := verdicts[short(slow)]; ok && v != "skip" && (!strings.Contains(log, "Mann-Whitney U") || !strings.Contains(log, "beside it")) {
		t.Errorf("the slow commit judged %q, but no step line with the reference booted beside it and a Mann-Whitney U test", v)
	}
}

// bisectTestCommits makes six commits on the tree's base, the same way
// every run so that their hashes (and so the cached builds) are the same,
// and returns the base and the six.
func bisectTestCommits(t *testing.T, tree string) []string {
	git(t, tree, "bisect", "reset")
	git(t, tree, "checkout", "-qf", "--detach", "kharness-base")
	commits := []string{gitHead(t, tree)}
	getppid := "SYSCALL_DEFINE0(getppid)\n{\n\tint pid;\n\n"
	// About 40 instructions a call: 8 rounds of a load, an add, a store,
	// and the loop's own.
	loop := "\t{\n\t\tstatic volatile int kharness_calls;\n\t\tint i;\n\n\t\tfor (i = 0; i < 8; i++)\n\t\t\tkharness_calls++;\n\t}\n"
	for _, c := range []struct{ msg, file, old, new string }{
		{"sys: say what getppid returns", "kernel/sys.c", getppid, "/* the tgid of the parent, as this task's pid namespace sees it */\n" + getppid},
		{"README: a line", "README", "", "Booted by kharness.\n"},
		{"sys: count getppid's calls", "kernel/sys.c", getppid, getppid + loop},
		{"Documentation: a line", "Documentation/process/howto.rst", "", "\n.. booted by kharness\n"},
		{"sys: slow getppid down", "kernel/sys.c", getppid, getppid + "\tndelay(500);\n"},
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
	return commits
}

// measureRef checks out commit and takes a reference with bisect-run
// -measure: one counted boot. It returns the run directory printed.
func measureRef(t *testing.T, tree, tmp, commit string, opts []string) string {
	t.Helper()
	git(t, tree, "checkout", "-q", commit)
	start := time.Now()
	cmd := kharnessCmd(t, tmp, append([]string{"bisect-run", "-measure"}, opts...)...)
	cmd.Dir = tree
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t.Logf("reference %s (%v):\n%s", short(commit), time.Since(start).Round(time.Second), stderr.String())
	if err != nil {
		t.Fatalf("bisect-run -measure: %v", err)
	}
	m := regexp.MustCompile(`^([0-9a-f]{40}) ([0-9.]+) insns/op (/\S+)\n$`).FindStringSubmatch(string(out))
	if m == nil || m[1] != commit {
		t.Fatalf("bisect-run -measure printed %q; want %s, its count in insns/op and its run directory", out, commit)
	}
	return m[3]
}

// gitBisectRun runs `git bisect run kharness bisect-run ARGS` from good to
// bad and returns its output and the commits it names: one, or the set
// it could not decide between.
func gitBisectRun(t *testing.T, tree, tmp, bad, good string, args []string) (string, []string) {
	t.Helper()
	start := time.Now()
	git(t, tree, "bisect", "start", bad, good)
	defer git(t, tree, "bisect", "reset")
	run := exec.Command("git", append([]string{"bisect", "run", binary, "bisect-run"}, args...)...)
	run.Dir = tree
	run.Env = kharnessCmd(t, tmp).Env
	out, err := run.CombinedOutput()
	t.Logf("git bisect run %s (%v):\n%s", strings.Join(args, " "), time.Since(start).Round(time.Second), out)
	if m := regexp.MustCompile(`(?m)^([0-9a-f]{40}) is the first bad commit$`).FindSubmatch(out); m != nil {
		return string(out), []string{string(m[1])}
	}
	if i := strings.Index(string(out), "The first bad commit could be any of:"); i >= 0 {
		return string(out), regexp.MustCompile(`(?m)^[0-9a-f]{40}$`).FindAllString(string(out[i:]), -1)
	}
	if err != nil {
		t.Fatalf("git bisect run: %v", err)
	}
	return string(out), nil
}

// stepVerdicts reads each step line's commit and verdict.
func stepVerdicts(log string) map[string]string {
	v := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^bisect-run ([0-9a-f]{12}): .*: (good|bad|skip)$`).FindAllStringSubmatch(log, -1) {
		v[m[1]] = m[2]
	}
	return v
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
		{"bad count threshold", broken, []string{"-ref", tmp, "-threshold", "two"}, bisectAbort, "instructions per operation"},
		{"a time for a count", broken, []string{"-ref-ns", "300", "-metric", "insns"}, bisectAbort, "-ref-ns is a time"},
		{"bad metric", broken, []string{"-ref", tmp, "-metric", "cycles"}, bisectAbort, "want auto, insns, kinsns or time"},
		{"bad direction", broken, []string{"-ref", tmp, "-direction", "up"}, bisectAbort, "want more or fewer"},
		{"fewer in time", broken, []string{"-ref-ns", "300", "-direction", "fewer"}, bisectAbort, "for counts"},
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
