package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kharness/kernels"
	"kharness/results/stats"
	"kharness/results/store"
	"kharness/results/stream"
)

// The tests here run the real binary, as a user or a scheduler would, and
// kill it for real.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kharness-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "kharness")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func cacheDir(t *testing.T) string {
	if d := os.Getenv("KHARNESS_TEST_CACHE"); d != "" {
		return d
	}
	d, err := kernels.DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const smallConfig = `
boots = 3
retries = 0
accel = "tcg"
timeout = "300s"
[bench]
run = "NullSyscall/call=getppid$"
benchtime = "20ms"
count = 2
[[kernel]]
name = "6.1-cloud"
family = "6.1"
[[config]]
name = "default"
`

// kharnessCmd prepares the binary with a private TMPDIR, so the QEMU
// processes it starts can be told from any other (their sockets live there).
func kharnessCmd(t *testing.T, tmp string, args ...string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "KHARNESS_SRC="+mustAbs(t, "../.."))
	return cmd
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// qemuUnder counts QEMU processes whose sockets are under tmp.
func qemuUnder(tmp string) int {
	out, _ := exec.Command("pgrep", "-f", "qemu-system.*"+tmp).Output()
	return len(strings.Fields(string(out)))
}

// startUntilFirstBoot starts a run and returns once its first boot is
// committed (the progress line for it is printed after the commit).
func startUntilFirstBoot(t *testing.T, tmp, cfg, out string) *exec.Cmd {
	cmd := kharnessCmd(t, tmp, "run", "-cache", cacheDir(t), "-o", out, cfg)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		t.Log(sc.Text())
		if strings.HasPrefix(sc.Text(), "[1/") {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd
		}
	}
	cmd.Wait()
	t.Fatalf("run ended before its first boot: %v", sc.Err())
	return nil
}

func writeConfig(t *testing.T, dir string) string {
	p := filepath.Join(dir, "small.toml")
	if err := os.WriteFile(p, []byte(smallConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func okBoots(t *testing.T, out string) map[int]int {
	boots, err := store.LoadBoots(out) // reads; takes no lock
	if err != nil {
		t.Fatal(err)
	}
	n := map[int]int{}
	for _, b := range boots {
		if b.Status.OK() {
			n[b.Boot]++
		}
	}
	return n
}

// TestKill9Resume kills kharness with SIGKILL mid-matrix: its QEMU children
// die with it (parent-death signal), and the same command again finishes
// the run with every boot exactly once.
func TestKill9Resume(t *testing.T) {
	if testing.Short() {
		t.Skip("boots kernels")
	}
	dir, tmp := t.TempDir(), t.TempDir()
	cfg, out := writeConfig(t, dir), filepath.Join(dir, "run")
	cmd := startUntilFirstBoot(t, tmp, cfg, out)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for qemuUnder(tmp) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond) // the kernel delivers the death signal asynchronously
	}
	if n := qemuUnder(tmp); n > 0 {
		t.Fatalf("%d QEMU processes outlived kharness after SIGKILL", n)
	}
	before := okBoots(t, out)
	if len(before) == 0 || len(before) >= 3 {
		t.Fatalf("after the kill: ok boots %v, want some but not all", before)
	}
	var stdout, stderr bytes.Buffer
	again := kharnessCmd(t, tmp, "run", "-cache", cacheDir(t), "-o", out, cfg)
	again.Stdout, again.Stderr = &stdout, &stderr
	if err := again.Run(); err != nil {
		t.Fatalf("resume: %v\n%s", err, stderr.String())
	}
	t.Logf("resume:\n%s%s", stderr.String(), stdout.String())
	if !strings.Contains(stderr.String(), "resuming") || !strings.Contains(stderr.String(), "already complete") {
		t.Errorf("resume did not say it resumed")
	}
	// 3 boots asked, and one more under the default -profile first: boot
	// 0 profiled, its times set aside, so the timed rows keep all 3.
	after := okBoots(t, out)
	for b := 0; b < 4; b++ {
		if after[b] != 1 {
			t.Errorf("boot %d has %d ok records, want exactly 1 (all: %v)", b, after[b], after)
		}
	}
	if len(after) != 4 {
		t.Errorf("ok boots %v, want boots 0-3: 3 asked and the profiled one", after)
	}
	boots, err := store.LoadBoots(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range boots {
		if b.Status.OK() && b.Profiled != (b.Boot == 0) {
			t.Errorf("boot %d: profiled %v, want only boot 0 profiled", b.Boot, b.Profiled)
		}
	}
	tab, err := stats.Compare([]string{out}, stats.CompareOptions{SlowFactor: -1}) // the host guard off: this counts boots
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tab.Rows {
		want := 3 // the timed rows: the profiled boot's times set aside
		if stream.ExactUnit(r.Unit) {
			want = 4
		}
		if r.Cells[0].Boots != want {
			t.Errorf("%s %s: %d boots, want %d", r.Benchmark, r.Unit, r.Cells[0].Boots, want)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(out, ".tmp")); len(ents) > 0 {
		t.Errorf("half-written attempts left in .tmp: %d", len(ents))
	}
	if !strings.Contains(stdout.String(), "NullSyscall") {
		t.Errorf("no table after resume:\n%s", stdout.String())
	}
}

// TestSIGTERMStopsEverything: SIGTERM stops every QEMU, leaves the run
// directory resumable and exits with the interrupted status.
func TestSIGTERMStopsEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("boots kernels")
	}
	dir, tmp := t.TempDir(), t.TempDir()
	cfg, out := writeConfig(t, dir), filepath.Join(dir, "run")
	cmd := startUntilFirstBoot(t, tmp, cfg, out)
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Errorf("exit: %v, want status %d", err, exitInterrupted)
	}
	if n := qemuUnder(tmp); n > 0 {
		t.Errorf("%d QEMU processes still running after kharness exited", n)
	}
	if ents, _ := os.ReadDir(filepath.Join(out, ".tmp")); len(ents) > 0 {
		t.Errorf("interrupted attempt left in .tmp")
	}
	if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
		t.Errorf("temporary files left in TMPDIR: %v", ents)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("boots = 5\nbootz = 1\n"), 0o644)
	os.Symlink("/dev/full", filepath.Join(dir, "full.html"))
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "usage"},
		{[]string{"frobnicate"}, exitUsage, "unknown command"},
		{[]string{"run"}, exitUsage, "usage"},
		{[]string{"run", bad}, exitError, bad + ":2: unknown key \"bootz\""},
		{[]string{"run", filepath.Join(dir, "missing.toml")}, exitError, "missing.toml"},
		{[]string{"compare", "-col", "colour", dir}, exitUsage, "-col"},
		{[]string{"compare", "-alpha", "2", dir}, exitUsage, "-alpha"},
		{[]string{"run", "-accel", "xen", "../../configs/default.toml"}, exitUsage, `invalid value "xen" for flag -accel: want auto, kvm or tcg`},
		{[]string{"run", "-shard", "3/2", "../../configs/default.toml"}, exitUsage, "shard"},
		{[]string{"run", "-col", "colour", "../../configs/default.toml"}, exitUsage, "-col"},
		{[]string{"run", "-insns", "maybe", "../../configs/default.toml"}, exitUsage, "-insns"},
		{[]string{"bisect", "-good", "a", "-bad", "b", "-metric", "cycles"}, exitUsage, "-metric"},
		{[]string{"report", "-o", "/dev/full", dir}, exitUsage, "ends in .html"},
		{[]string{"report", "-o", filepath.Join(dir, "full.html"), dir}, exitUsage, "not a regular file"},
		{[]string{"report", "-o", filepath.Join(dir, "run.json"), dir}, exitUsage, "ends in .html"},
		{[]string{"run", "-o", "/proc/no/such", "../../configs/default.toml"}, exitError, "/proc/no/such"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, &stdout, &stderr)
		code := exitCode(err, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("kharness %q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}

// TestFailingCellRetriedAndReported: a boot config whose kernel panics is
// retried, every attempt is kept with its reason, the run exits with the
// boots-failed status, and compare shows the cell as failed.
func TestFailingCellRetriedAndReported(t *testing.T) {
	if testing.Short() {
		t.Skip("boots kernels")
	}
	dir, tmp := t.TempDir(), t.TempDir()
	cfg := filepath.Join(dir, "panic.toml")
	os.WriteFile(cfg, []byte(`
boots = 1
retries = 1
accel = "tcg"
timeout = "300s"
[bench]
run = "NullSyscall/call=getppid$"
benchtime = "10ms"
count = 1
[[kernel]]
name = "6.1-cloud"
family = "6.1"
[[config]]
name = "default"
[[config]]
name = "noinit"
cmdline = "rdinit=/does-not-exist root=/dev/nonexistent"
`), 0o644)
	out := filepath.Join(dir, "run")
	var stdout, stderr bytes.Buffer
	cmd := kharnessCmd(t, tmp, "run", "-cache", cacheDir(t), "-o", out, cfg)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitBootsFailed {
		t.Fatalf("exit %v, want %d\n%s", err, exitBootsFailed, stderr.String())
	}
	boots, _ := store.LoadBoots(out) // reads; takes no lock
	var panics, oks int
	for _, b := range boots {
		switch {
		case b.Status == store.StatusPanic && b.Config.Name == "noinit" && len(b.PanicLines) > 0:
			panics++
		case b.Status.OK() && b.Config.Name == "default":
			oks++
		default:
			t.Errorf("unexpected boot %s/%d attempt %d: %s %s", b.Cell, b.Boot, b.Attempt, b.Status, b.Reason)
		}
	}
	if panics != 2 || oks != 1 {
		t.Errorf("%d panicked attempts (want 2: one retry), %d ok boots (want 1)", panics, oks)
	}
	if !strings.Contains(stdout.String(), "failed (2: panic)") {
		t.Errorf("table does not show the failed cell:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "noinit boot 0: panic") {
		t.Errorf("stderr does not name the failed boot:\n%s", stderr.String())
	}
	// Run again: nothing to do, the failure stays reported.
	again := kharnessCmd(t, tmp, "run", "-cache", cacheDir(t), "-o", out, cfg)
	var e2 bytes.Buffer
	again.Stderr = &e2
	err = again.Run()
	if !errors.As(err, &ee) || ee.ExitCode() != exitBootsFailed || !strings.Contains(e2.String(), "0 to run") {
		t.Errorf("second run: %v\n%s", err, e2.String())
	}
}

// TestDiskFull runs into a file system with no room: the error comes before
// any boot, names the directory, and nothing is counted.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("boots kernels")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root (CI runs as root)")
	}
	dir, tmp := t.TempDir(), t.TempDir()
	mnt := filepath.Join(dir, "small")
	os.Mkdir(mnt, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	defer exec.Command("umount", mnt).Run()
	out := filepath.Join(mnt, "run")
	var stderr bytes.Buffer
	cmd := kharnessCmd(t, tmp, "run", "-cache", cacheDir(t), "-o", out, writeConfig(t, dir))
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitError || !strings.Contains(stderr.String(), out+": only") {
		t.Fatalf("exit %v, stderr %q: want an error naming %s and its free space", err, stderr.String(), out)
	}
	if strings.Contains(stderr.String(), "boots to run") {
		t.Error("boots started on a full disk")
	}
	if n := okBoots(t, out); len(n) != 0 {
		t.Errorf("boots counted: %v", n)
	}
}

// TestReadCommandsInterrupted: compare, report, seed and fidelity end with
// exit 130 when told to stop, as run does.
func TestReadCommandsInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, args := range [][]string{{"compare", t.TempDir()}, {"report", "-o", filepath.Join(t.TempDir(), "r.html"), t.TempDir()}, {"seed", t.TempDir()}, {"fidelity", t.TempDir()}} {
		var stdout, stderr bytes.Buffer
		err := run(ctx, args, &stdout, &stderr)
		if code := exitCode(err, &stderr); code != exitInterrupted {
			t.Errorf("kharness %q after SIGINT: exit %d (%v), want %d", args, code, err, exitInterrupted)
		}
	}
}

// TestTwoRunsOneDirectory: a second run into a directory a first one is
// writing is refused, and the first loses nothing: every boot once.
func TestTwoRunsOneDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("boots kernels")
	}
	dir, tmp := t.TempDir(), t.TempDir()
	cfg := writeConfig(t, dir)
	out := filepath.Join(dir, "run")
	first := startUntilFirstBoot(t, tmp, cfg, out)
	second := kharnessCmd(t, tmp, "run", "-cache", cacheDir(t), "-o", out, cfg)
	msg, err := second.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitError || !strings.Contains(string(msg), "in use by another kharness process") {
		t.Errorf("second run into %s: %v\n%s\nwant it refused as in use", out, err, msg)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("first run: %v", err)
	}
	// 3 boots asked, and -profile first's profiled one.
	if got := okBoots(t, out); len(got) != 4 || got[0] != 1 || got[1] != 1 || got[2] != 1 || got[3] != 1 {
		t.Errorf("ok boots per index %v, want each of 0..3 once", got)
	}
}
