// Package deploy holds what runs one matrix across a Kubernetes cluster:
// the image (Dockerfile) and an Indexed Job (job.yaml) whose pods each run
// one shard of the matrix; and across a Slurm cluster: a job array
// (slurm.sbatch), one shard a task, which TestSlurmArray runs on a
// one-node cluster of its own. There is no code here; the package's test reads
// job.yaml strictly into the Kubernetes API types, as the API server would,
// and resolves each pod's shard with kharness's own code, so that a
// misspelled field, a completion count that disagrees with -shard, or pods
// that would share a run directory fail `go test ./deploy` instead of a
// cluster run. That the Job's arguments parse with `kharness run`'s flags is
// checked where those flags are defined, by cmd/kharness's
// TestDeployJobArgsParse.
package deploy
