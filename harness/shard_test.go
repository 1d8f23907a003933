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
