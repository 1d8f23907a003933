// Package harness runs the matrix: a config's kernels and boot configs,
// each cell booted (through harness/vm) the boots it asks for, with the
// run loop's parallelism, retries, resume and until-decided. The jobs
// built on the run (attribute, bisect, history, lava, mitigations,
// nightly, shell) are packages of their own under it.
package harness
