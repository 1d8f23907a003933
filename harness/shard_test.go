package harness

import (
	"fmt"
	"strings"
	"testing"
)

// TestShardsPartition: for many matrix shapes and shard counts, the shards
// together hold every cell exactly once.
func TestShardsPartition(t *testing.T) {
	for kernels := 1; kernels <= 17; kernels += 4 {
		for configs := 1; configs <= 5; configs += 2 {
			cfg := &Config{}
			for k := 0; k < kernels; k++ {
				cfg.Kernels = append(cfg.Kernels, KernelConfig{Name: fmt.Sprintf("k%d", k)})
			}
			for c := 0; c < configs; c++ {
				cfg.Configs = append(cfg.Configs, BootConfig{Name: fmt.Sprintf("c%d", c)})
			}
			all := Shard{}.Cells(cfg)
			if len(all) != kernels*configs {
				t.Fatalf("whole matrix: %d cells, want %d", len(all), kernels*configs)
			}
			for n := 1; n <= 7; n++ {
				seen := map[string]int{}
				for i := 0; i < n; i++ {
					for _, c := range (Shard{Index: i, Count: n}).Cells(cfg) {
						seen[c]++
					}
				}
				for _, c := range all {
					if seen[c] != 1 {
						t.Errorf("%d kernels × %d configs, %d shards: cell %s in %d shards", kernels, configs, n, c, seen[c])
					}
				}
				if len(seen) != len(all) {
					t.Errorf("%d shards produced cells outside the matrix", n)
				}
			}
		}
	}
}

func TestParseShard(t *testing.T) {
	t.Setenv("JOB_COMPLETION_INDEX", "3")
	for in, want := range map[string]Shard{"": {}, "0/1": {0, 1}, "2/5": {2, 5}, "auto/4": {3, 4}} {
		got, err := ParseShard(in)
		if err != nil || got != want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"1", "5/5", "-1/3", "a/3", "1/0", "auto/3"} {
		if _, err := ParseShard(bad); err == nil || !strings.Contains(err.Error(), "-shard") {
			t.Errorf("ParseShard(%q): err = %v", bad, err)
		}
	}
}

// TestParseShardSlurm: auto/n in a Slurm array task takes its place in the
// array, whether the array's IDs start at 0 or 1, and refuses an array
// that does not run every shard once.
func TestParseShardSlurm(t *testing.T) {
	t.Setenv("JOB_COMPLETION_INDEX", "")
	slurm := func(id, lo, hi, count string) {
		t.Setenv("SLURM_ARRAY_TASK_ID", id)
		t.Setenv("SLURM_ARRAY_TASK_MIN", lo)
		t.Setenv("SLURM_ARRAY_TASK_MAX", hi)
		t.Setenv("SLURM_ARRAY_TASK_COUNT", count)
	}
	for _, tc := range []struct {
		id, lo, hi, count string
		want              Shard
	}{
		{"0", "0", "3", "4", Shard{0, 4}},
		{"3", "0", "3", "4", Shard{3, 4}},
		{"1", "1", "4", "4", Shard{0, 4}},
		{"4", "1", "4", "4", Shard{3, 4}},
		{"12", "10", "13", "4", Shard{2, 4}},
	} {
		slurm(tc.id, tc.lo, tc.hi, tc.count)
		got, err := ParseShard("auto/4")
		if err != nil || got != tc.want {
			t.Errorf("task %s of array %s-%s: ParseShard(auto/4) = %v, %v; want %v", tc.id, tc.lo, tc.hi, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ id, lo, hi, count, want string }{
		{"0", "0", "2", "3", "runs 3 tasks, IDs 0-2: want 4"},            // fewer tasks than shards
		{"0", "0", "4", "5", "runs 5 tasks, IDs 0-4: want 4"},            // more
		{"2", "0", "6", "4", "runs 4 tasks, IDs 0-6: want 4 with conse"}, // --array=0-6:2
		{"x", "0", "3", "4", `SLURM_ARRAY_TASK_ID="x"`},
		{"1", "0", "3", "", `SLURM_ARRAY_TASK_COUNT=""`},
		{"", "", "", "", "neither JOB_COMPLETION_INDEX"},
	} {
		slurm(tc.id, tc.lo, tc.hi, tc.count)
		if _, err := ParseShard("auto/4"); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "-shard") {
			t.Errorf("task %q of array %s-%s (%s tasks): err = %v; want one containing %q", tc.id, tc.lo, tc.hi, tc.count, err, tc.want)
		}
	}
	// A Kubernetes index wins: a pod has no Slurm variables, and a Slurm
	// task's environment has no JOB_COMPLETION_INDEX unless it was set.
	slurm("1", "0", "3", "4")
	t.Setenv("JOB_COMPLETION_INDEX", "2")
	if got, err := ParseShard("auto/4"); err != nil || got != (Shard{2, 4}) {
		t.Errorf("with both set: %v, %v; want JOB_COMPLETION_INDEX's shard 2/4", got, err)
	}
}
