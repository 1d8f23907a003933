package lava

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kharness/harness"
	"kharness/harness/internal/harnesstest"
	"kharness/internal/testenv"
	"kharness/results/store"
)

// TestLavaRunMatchesOwnBoot runs one LAVA job for real: `kharness lava`'s
// job for the 6.1 cloud kernel, default cmdline, under Debian's lava-run
// with the device description it writes, then reads the job's log back
// into a run directory. Its null syscall must carry LAVA test cases (the
// monitor's, in ns/op) and the same exact instruction count as kharness's
// own boot of the same cell: the counting plugin rides in the job's QEMU
// options, and a count cannot depend on who started QEMU.
func TestLavaRunMatchesOwnBoot(t *testing.T) {
	harnesstest.Fixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	lavaRun, err := FindLavaRun(ctx, harnesstest.Cache(t))
	if err != nil {
		testenv.Missing(t, err.Error())
	}
	t.Logf("running %s", lavaRun.Desc)
	src := `boots = 1
retries = 0
accel = "tcg"
timeout = "300s"
[bench]
run = "NullSyscall/call=getppid$"
benchtime = "20ms"
count = 3
[[kernel]]
name = "6.1-cloud"
family = "6.1"
flavour = "cloud-amd64"
[[config]]
name = "default"
cmdline = ""
`
	tmp := t.TempDir()
	cfgPath := filepath.Join(tmp, "lava.toml")
	if err := os.WriteFile(cfgPath, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := harness.ParseConfig(cfgPath, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	srcDir := harnesstest.Source(t)
	opt := harness.RunOptions{Config: cfg, ConfigPath: cfgPath, CacheDir: harnesstest.Cache(t), SourceDir: srcDir}
	opt.OutDir = filepath.Join(tmp, "lava-run")
	jobs, err := WriteLava(ctx, opt, LavaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].Cell != "6.1-cloud--default" || jobs[0].Boot != 0 {
		t.Fatalf("WriteLava wrote %+v; want one job, 6.1-cloud--default boot 0", jobs)
	}
	runLava(ctx, t, lavaRun, jobs[0].Dir, tmp)
	read, failed, err := ReadLava(opt.OutDir)
	if err != nil || read != 1 || failed != 0 {
		t.Fatalf("ReadLava: %d read, %d failed, %v; want 1 read, 0 failed", read, failed, err)
	}
	cases := lavaCases(t, filepath.Join(jobs[0].Dir, LavaLogFile))
	if cases != cfg.Bench.Count {
		t.Errorf("the LAVA log has %d kharness test cases nullsyscall_call_getppid in ns/op; want one per sample, %d", cases, cfg.Bench.Count)
	}
	lava := insnsPerOp(t, opt.OutDir)

	opt.OutDir = filepath.Join(tmp, "own-run")
	if _, err := harness.Run(ctx, opt); err != nil {
		t.Fatal(err)
	}
	own := insnsPerOp(t, opt.OutDir)
	if lava != own {
		t.Errorf("null syscall: %s insns/op booted by LAVA, %s by kharness; want equal", lava, own)
	}
	t.Logf("null syscall: %s insns/op, under lava-run and kharness alike", own)
}

// runLava runs the job in dir under lava-run in its own process group,
// which the test's cleanup kills, so no QEMU outlives the test.
func runLava(ctx context.Context, t *testing.T, lavaRun *LavaRun, dir, tmp string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, LavaLogFile))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	// lava-run keeps its files under /var/lib/lava/dispatcher/tmp/<job id>:
	// an id of this process's own keeps two tests apart.
	cmd := lavaRun.Command(ctx, "--device", filepath.Join(dir, LavaDeviceFile),
		"--job-id", fmt.Sprintf("%d", 900000+os.Getpid()%100000), "--output-dir", filepath.Join(tmp, "lava-out"),
		filepath.Join(dir, LavaJobFile))
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	if err := cmd.Wait(); err != nil {
		t.Fatalf("lava-run: %v (log: %s)", err, logf.Name())
	}
}

// lavaCases counts the monitor's test cases for the null syscall in the
// LAVA log at path.
func lavaCases(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, `"lvl": "results"`) && strings.Contains(l, `"definition": "kharness"`) &&
			strings.Contains(l, `"case": "nullsyscall_call_getppid"`) && strings.Contains(l, `"units": "ns/op"`) {
			n++
		}
	}
	return n
}

// insnsPerOp is the null syscall's exact count in the one boot of run.
func insnsPerOp(t *testing.T, run string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(run, store.CellsDir, "6.1-cloud--default", "boot-00-a1", store.BenchFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 4 && f[0] == "BenchmarkNullSyscall/call=getppid" && f[3] == "insns/op" {
			return f[2]
		}
	}
	t.Fatalf("%s: no insns/op line for the null syscall", run)
	return ""
}
