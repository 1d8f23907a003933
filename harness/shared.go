package harness

// What the jobs built on the run share: a kernel's label and description,
// the head of a counted matrix file, a run's failed boots for an error.

import (
	"fmt"
	"strings"

	"kharness/kernels"
	"kharness/results/store"
)

// KernelLabel is the short name a kernel gets in bisection and nightly runs:
// its release, which is unique among Debian's kernels of one flavour.
//
// The label names a directory, and a release is read from a kernel image:
// every byte outside [A-Za-z0-9._+-] becomes '_', a leading '.' too, so
// no label is "..", hidden or a path.
func KernelLabel(c kernels.Candidate) string {
	l := c.Release
	if l == "" {
		l = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSuffix(c.Package, "-unsigned"), "linux-image-"), "linux-binary-")
	}
	b := []byte(l)
	if len(b) > 100 {
		b = b[:100]
	}
	for i, x := range b {
		if !store.NameByte(x) || (i == 0 && x == '.') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// KernelDesc is a kernel as a person names it: its package and version,
// or its source.
func KernelDesc(k store.KernelInfo) string {
	if k.Package != "" {
		return k.Package + " " + k.Version
	}
	return k.Source
}

// CountedConfigHead is the head of a matrix file a job writes for exact
// counts (attribute, history): TCG, counting on, one retry, the boots,
// boot timeout and benchmarks given; its kernels and configs follow.
func CountedConfigHead(job string, boots int, timeout, run, benchtime string, count int) string {
	return fmt.Sprintf(`# written by kharness %s
boots = %d
retries = 1
accel = "tcg"
insns = "on"
timeout = %q
[bench]
run = %q
benchtime = %q
count = %d
`, job, boots, timeout, run, benchtime, count)
}

// BadBoots is the reasons of failed boots, for an error.
func BadBoots(bad []string) string {
	if len(bad) == 0 {
		return ""
	}
	return " (" + strings.Join(bad, "; ") + ")"
}
