package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// jobArgs is the first container's args in a Kubernetes Job manifest.
// deploy's own test reads the manifest strictly into the API types; this
// one needs only the arguments.
func jobArgs(t *testing.T, manifest []byte) []string {
	t.Helper()
	var job struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Args []string `json:"args"`
					} `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(manifest, &job); err != nil {
		t.Fatal(err)
	}
	cs := job.Spec.Template.Spec.Containers
	if len(cs) == 0 {
		t.Fatal("job.yaml: no container")
	}
	return cs[0].Args
}

// parseRunArgs parses a container's args as `kharness run` does, with the
// flag set runCmd itself uses, and returns the parse's error.
func parseRunArgs(args []string) (string, error) {
	if len(args) == 0 || args[0] != "run" {
		return "", errUsage
	}
	fs, f := newRunFlags(io.Discard)
	if err := fs.Parse(args[1:]); err != nil {
		return "", err
	}
	if fs.NArg() != 1 {
		return "", errUsage
	}
	return *f.shard + " " + *f.out + " " + fs.Arg(0), nil
}

// TestDeployJobArgsParse: deploy/job.yaml's arguments parse with `kharness
// run`'s own flag set (not a list of its flag names kept elsewhere), with
// -shard, -o and one config; and a flag run lacks is refused, so a
// manifest that passes one fails here rather than in every pod.
func TestDeployJobArgsParse(t *testing.T) {
	manifest, err := os.ReadFile(filepath.Join("..", "..", "deploy", "job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	args := jobArgs(t, manifest)
	got, err := parseRunArgs(args)
	if err != nil {
		t.Fatalf("job.yaml's args %q: %v", args, err)
	}
	if f := strings.Fields(got); len(f) != 3 || f[0] != "auto/4" || !strings.HasPrefix(f[1], "/results/") || !strings.HasSuffix(f[2], ".toml") {
		t.Errorf("job.yaml's args %q read as -shard, -o, config %q", args, got)
	}
	bad := strings.Replace(string(manifest), `"run", `, `"run", "-shards", "2", `, 1)
	if _, err := parseRunArgs(jobArgs(t, []byte(bad))); err == nil || !strings.Contains(err.Error(), "-shards") {
		t.Errorf("a manifest passing -shards: error %v, want run's flag set to refuse it", err)
	}
}
