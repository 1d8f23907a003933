package harness

import (
	"errors"
	"fmt"
	"kharness/results/store"
	"os"
	"strconv"
	"strings"
)

// Shard is a deterministic slice of a matrix, for running one matrix on
// several machines: each shard writes its own run directory, and compare or
// report take them all as one run. A cell (kernel × boot config) is never
// split, so all boots of a cell come from one machine.
type Shard struct {
	Index, Count int // 0 <= Index < Count; Count 0 or 1 means the whole matrix
}

// ParseShard reads "i/n" (0-based i), or "auto/n" to take i from the
// environment the scheduler gives each task (autoIndex). An empty string
// is the whole matrix.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	is, ns, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("-shard %q: want i/n or auto/n", s)
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 1 || n > 10000 {
		return Shard{}, fmt.Errorf("-shard %q: shard count %q: want 1..10000", s, ns)
	}
	if is == "auto" {
		if is, err = autoIndex(n); err != nil {
			return Shard{}, fmt.Errorf("-shard %q: %v", s, err)
		}
	}
	i, err := strconv.Atoi(is)
	if err != nil || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("-shard %q: index %q: want 0..%d", s, is, n-1)
	}
	return Shard{Index: i, Count: n}, nil
}

// autoIndex is the shard index of this task of n: JOB_COMPLETION_INDEX,
// the index a Kubernetes Indexed Job gives each pod, or else the task's
// place in a Slurm job array, SLURM_ARRAY_TASK_ID less SLURM_ARRAY_TASK_MIN,
// so that --array=0-3 and --array=1-4 both give 0..3. The array must be n
// tasks with consecutive IDs (no step), or some shard would run in no task.
func autoIndex(n int) (string, error) {
	if i := os.Getenv("JOB_COMPLETION_INDEX"); i != "" {
		return i, nil
	}
	id := os.Getenv("SLURM_ARRAY_TASK_ID")
	if id == "" {
		return "", errors.New("neither JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) nor SLURM_ARRAY_TASK_ID (a Slurm job array) is set")
	}
	var v [4]int
	for k, name := range []string{"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_COUNT"} {
		x, err := strconv.Atoi(os.Getenv(name))
		if err != nil || x < 0 {
			return "", fmt.Errorf("%s=%q: want a whole number", name, os.Getenv(name))
		}
		v[k] = x
	}
	id0, lo, hi, count := v[0], v[1], v[2], v[3]
	if count != n || hi-lo+1 != count {
		return "", fmt.Errorf("the Slurm array runs %d tasks, IDs %d-%d: want %d with consecutive IDs, as --array=0-%d submits", count, lo, hi, n, n-1)
	}
	return strconv.Itoa(id0 - lo), nil
}

// Has reports whether the cell with the given index (kernel-major order:
// kernel index × number of configs + config index) belongs to the shard.
// Cells are dealt round-robin, so every shard gets a mix of kernels.
func (s Shard) Has(cell int) bool {
	return s.Count <= 1 || cell%s.Count == s.Index
}

// String is "i/n", or "" for the whole matrix.
func (s Shard) String() string {
	if s.Count <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Cells lists the names of the cells of cfg that belong to the shard, in
// kernel-major order.
func (s Shard) Cells(cfg *Config) []string {
	var cells []string
	for ki, k := range cfg.Kernels {
		for ci, c := range cfg.Configs {
			if s.Has(ki*len(cfg.Configs) + ci) {
				cells = append(cells, store.CellName(k.Name, c.Name))
			}
		}
	}
	return cells
}

// hasKernel reports whether any cell of kernel ki is in the shard, so a
// shard fetches only the kernels it boots.
func (s Shard) hasKernel(cfg *Config, ki int) bool {
	for ci := range cfg.Configs {
		if s.Has(ki*len(cfg.Configs) + ci) {
			return true
		}
	}
	return false
}
