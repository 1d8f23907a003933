// Package layout holds the test that keeps kharness's shape: packages
// import only those before them in the pipeline, and no file or function
// outside the tests grows past what a reader takes in at once.
package layout

// Flow is kharness's packages in pipeline order (see README,
// "Architecture"): each may import only packages of an earlier group.
// Packages of one group import none of each other.
var Flow = [][]string{
	{"kharness/internal/atomicfile", "kharness/internal/filelock", "kharness/internal/golden", "kharness/internal/tail", "kharness/internal/testenv"},
	{"kharness/results/wire"},
	{"kharness/guest", "kharness/cmd/kguest32"},
	{"kharness/guest/bench"},
	{"kharness/cmd/kguest"},
	{"kharness/kernels"},
	{"kharness/initramfs"},
	{"kharness/results/stream"},
	{"kharness/results/store"},
	{"kharness/results/internal/fakerun", "kharness/results/stats"},
	{"kharness/results/show"},
	{"kharness/harness/vm", "kharness/harness/internal/harnesstest"},
	{"kharness/harness"},
	{"kharness/harness/attribute", "kharness/harness/history", "kharness/harness/lava", "kharness/harness/mitigations", "kharness/harness/nightly", "kharness/harness/shell"},
	{"kharness/harness/bisect"},
	{"kharness/cmd/kharness"},
	{"kharness/deploy"},
	{"kharness/results", "kharness/internal/layout"},
}

// Limits on code outside tests.
const (
	MaxFileLines = 400
	MaxFuncLines = 80
)
