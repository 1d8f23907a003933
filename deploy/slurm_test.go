package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"kharness/kernels"
)

// TestSlurmArray submits deploy/slurm.sbatch, as it is but for where its
// task logs go, to a one-node Slurm cluster of its own: its array of 4
// tasks runs configs/default.toml (cut down to one boot a cell of the null
// syscall) as 4 shards, and compare reads the 4 shard directories as one
// run holding every row of the same config run unsharded, with the same
// exact instruction counts, each from one boot.
func TestSlurmArray(t *testing.T) {
	if testing.Short() {
		t.Skip("boots kernels under a Slurm cluster")
	}
	for _, tool := range slurmTools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install slurmctld slurmd slurm-client; `.ci/deps test` does): %v", tool, err)
		}
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "kharness")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/kharness").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cfg := cutDefault(t, dir)
	cache := testCache(t)
	src, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute) // bounds a failure; measures nothing
	defer cancel()

	ref := filepath.Join(dir, "unsharded")
	run := exec.CommandContext(ctx, bin, "run", "-cache", cache, "-o", ref, cfg)
	run.Env = append(os.Environ(), "KHARNESS_SRC="+src)
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("kharness run (unsharded): %v\n%s", err, out)
	}

	c := startSlurm(t)
	results := filepath.Join(dir, "results")
	sb := c.command(ctx, "sbatch", "--wait", "--parsable", "--chdir="+src, "--output="+filepath.Join(dir, "task-%a.out"),
		"slurm.sbatch", "-cache", cache, cfg)
	sb.Env = append(sb.Env, "KHARNESS="+bin, "KHARNESS_RESULTS="+results, "KHARNESS_SRC="+src)
	out, err := sb.Output()
	job := strings.TrimSpace(string(out))
	if err != nil {
		t.Fatalf("sbatch --wait deploy/slurm.sbatch (job %q): %v\n%s%s", job, err, taskLogs(dir), c.logs())
	}
	shards, _ := filepath.Glob(filepath.Join(results, job, "*"))
	var want []string
	for i := range 4 {
		want = append(want, filepath.Join(results, job, fmt.Sprint(i)))
	}
	if strings.Join(shards, " ") != strings.Join(want, " ") {
		t.Fatalf("the array's run directories are %q; want %q\n%s", shards, want, taskLogs(dir))
	}
	checkSameCells(t, compareJSON(t, ctx, bin, ref), compareJSON(t, ctx, bin, shards...))
}

// cutDefault writes configs/default.toml into dir with fewer boots and one
// cheap benchmark with an exact count: the same matrix, at a cost a test
// can pay. Under TCG, named so, as KVM would give no count and its probe
// costs a boot in each of the five runs.
func cutDefault(t *testing.T, dir string) string {
	b, err := os.ReadFile("../configs/default.toml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for key, val := range map[string]string{"boots": "1", "accel": `"tcg"`, "timeout": `"300s"`,
		"run": `"NullSyscall/call=getppid$"`, "benchtime": `"20ms"`, "count": "2"} {
		re := regexp.MustCompile(`(?m)^` + key + ` *=.*$`)
		if n := len(re.FindAllString(s, -1)); n != 1 {
			t.Fatalf("configs/default.toml: %d lines setting %s; want 1 to cut down", n, key)
		}
		s = re.ReplaceAllLiteralString(s, key+" = "+val)
	}
	p := filepath.Join(dir, "default.toml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// testCache is where the tests keep kernels: $KHARNESS_TEST_CACHE or the
// user's cache.
func testCache(t *testing.T) string {
	if d := os.Getenv("KHARNESS_TEST_CACHE"); d != "" {
		return d
	}
	d, err := kernels.DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// compareResult is the part of a row of `compare -format json` checked.
type compareResult struct {
	Benchmark, Unit, Kernel, Config string
	N                               int
	Median                          *float64
}

// compareJSON runs `kharness compare -format json` over dirs and returns
// its rows by benchmark, unit, kernel and config. Exit status 4 (a call of
// a regression: pti=on's exact cost) is a result, not an error.
func compareJSON(t *testing.T, ctx context.Context, bin string, dirs ...string) map[string]compareResult {
	out, err := exec.CommandContext(ctx, bin, append([]string{"compare", "-format", "json"}, dirs...)...).Output()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 4) {
		t.Fatalf("kharness compare %q: %v\n%s", dirs, err, out)
	}
	var table struct{ Results []compareResult }
	if err := json.Unmarshal(out, &table); err != nil {
		t.Fatalf("kharness compare %q: %v", dirs, err)
	}
	rows := map[string]compareResult{}
	for _, r := range table.Results {
		rows[strings.Join([]string{r.Benchmark, r.Unit, r.Kernel, r.Config}, " ")] = r
	}
	return rows
}

// checkSameCells: the shards have every row of the unsharded run and no
// other, and each exact count (insns/op, kinsns/op) is from one boot on
// each side and the same number, for each of the matrix's 4 cells. The
// timed rows' boots are not counted: the host guard may set a boot's
// samples aside on a busy host.
func checkSameCells(t *testing.T, ref, shards map[string]compareResult) {
	exact := map[string]bool{}
	for k, r := range ref {
		s, ok := shards[k]
		switch {
		case !ok:
			t.Errorf("%s: in the unsharded run, in no shard", k)
		case r.Unit != "insns/op" && r.Unit != "kinsns/op":
		case r.N != 1 || s.N != 1:
			t.Errorf("%s: %d boots unsharded, %d in the shards; want 1 and 1", k, r.N, s.N)
		case r.Median == nil || s.Median == nil || *r.Median != *s.Median:
			t.Errorf("%s: exact count %v unsharded, %v in the shards", k, num(r.Median), num(s.Median))
		default:
			exact[r.Kernel+" "+r.Config] = true
			t.Logf("%s: %v unsharded and in the shards", k, *r.Median)
		}
	}
	for k := range shards {
		if _, ok := ref[k]; !ok {
			t.Errorf("%s: in the shards, not in the unsharded run", k)
		}
	}
	if len(exact) != 4 {
		t.Errorf("equal exact counts in cells %v; want the 4 of configs/default.toml", exact)
	}
}

func num(p *float64) any {
	if p == nil {
		return "none"
	}
	return *p
}

// taskLogs is the array tasks' output, for a failure's message.
func taskLogs(dir string) string {
	var b strings.Builder
	logs, _ := filepath.Glob(filepath.Join(dir, "task-*.out"))
	for _, f := range logs {
		data, _ := os.ReadFile(f)
		if len(data) > 3000 {
			data = data[len(data)-3000:]
		}
		fmt.Fprintf(&b, "--- %s:\n%s\n", filepath.Base(f), data)
	}
	return b.String()
}
