package deploy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	k8sjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"kharness/harness"
)

// pod is what one pod of the Job runs, resolved as the pod would.
type pod struct {
	Index  int
	Shard  harness.Shard
	OutDir string   // -o after variable expansion
	Cells  []string // the matrix cells the shard boots
}

// checkJob reads an Indexed Job manifest the way the API server does with
// strict field validation (kubectl apply --validate=strict): YAML to JSON,
// then case-sensitive decoding into batch/v1 Job that refuses unknown and
// duplicate fields. It then checks what kharness needs of it, resolving each
// pod's arguments (its environment, $(VAR) expansion, `run`'s flags, the
// -shard value through harness.ParseShard with the pod's
// JOB_COMPLETION_INDEX) with the config the arguments name, read from root
// (the source tree, which the image's WORKDIR holds). It returns every
// problem found, and the pods when the manifest got that far.
//
// It sets JOB_COMPLETION_INDEX in the process environment while it runs
// (and restores it), so its callers must not run in parallel.
func checkJob(manifest []byte, root string) ([]pod, error) {
	js, err := yaml.YAMLToJSONStrict(manifest)
	if err != nil {
		return nil, fmt.Errorf("job.yaml: %w", err)
	}
	var job batchv1.Job
	strict, err := k8sjson.UnmarshalStrict(js, &job)
	if err != nil {
		return nil, fmt.Errorf("job.yaml: decoding into batch/v1 Job: %w", err)
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, e := range strict {
		bad("job.yaml: %v (kubectl refuses it under strict field validation, its default, and the API server drops it otherwise)", e)
	}

	if job.APIVersion != "batch/v1" || job.Kind != "Job" {
		bad("apiVersion %q, kind %q: want batch/v1 Job", job.APIVersion, job.Kind)
	}
	if job.Name == "" {
		bad("metadata.name is empty: JOB_NAME (the job-name label) and so the run directories need it")
	}
	spec := job.Spec
	if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion {
		bad("spec.completionMode: want Indexed, or pods get no JOB_COMPLETION_INDEX for -shard auto/n")
	}
	if spec.Completions == nil || *spec.Completions < 1 {
		bad("spec.completions: want the shard count of -shard auto/n")
		return nil, errors.Join(errs...)
	}
	completions := int(*spec.Completions)
	if spec.Parallelism == nil || int(*spec.Parallelism) != completions {
		bad("spec.parallelism %s differs from completions %d: keep them equal, so every shard runs at once", ptrString(spec.Parallelism), completions)
	}
	if rp := spec.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure {
		bad("restartPolicy %q: a Job's pods need Never or OnFailure", rp)
	}
	if n := len(spec.Template.Spec.Containers); n != 1 {
		bad("%d containers: want one, running kharness", n)
		return nil, errors.Join(errs...)
	}
	c := spec.Template.Spec.Containers[0]
	if len(c.Command) > 0 {
		bad("container %s: command %q replaces the image's entrypoint (kharness); give only args", c.Name, c.Command)
	}
	if len(c.EnvFrom) > 0 {
		bad("container %s: envFrom: variables this check cannot see; use env", c.Name)
	}
	for _, e := range c.Env {
		if e.Name == "JOB_COMPLETION_INDEX" {
			bad("container %s: env JOB_COMPLETION_INDEX: the Job controller sets it per pod; defining it gives every pod the same shard", c.Name)
		}
	}

	var pods []pod
	var failed []error
	cells := map[string][]int{} // cell -> pods that boot it
	dirs := map[string]int{}    // run directory -> first pod writing it
	var cfg *harness.Config
	for i := range completions {
		p, podCfg, err := resolvePod(&job, c, i, root)
		if err != nil {
			failed = append(failed, fmt.Errorf("pod %d: %w", i, err))
			continue
		}
		if cfg == nil {
			cfg = podCfg
		}
		if p.Shard.Count != completions || p.Shard.Index != i {
			bad("pod %d runs shard %q of a Job of %d completions: keep completions and the n of -shard auto/n equal", i, p.Shard, completions)
		}
		if q, ok := dirs[p.OutDir]; ok {
			bad("pod %d writes %s, as pod %d does: -o must hold $(JOB_COMPLETION_INDEX) (kharness refuses a second run into a directory in use)", i, p.OutDir, q)
		} else {
			dirs[p.OutDir] = i
		}
		if len(p.Cells) == 0 {
			bad("pod %d: shard %s of the matrix is empty (kharness run refuses it): want at least %d cells, one per pod", i, p.Shard, completions)
		}
		for _, cell := range p.Cells {
			cells[cell] = append(cells[cell], i)
		}
		pods = append(pods, p)
	}
	if len(failed) == completions && completions > 1 {
		// No pod resolves: say the first pod's reason once, not n times.
		failed = []error{fmt.Errorf("every pod, as %w", failed[0])}
	}
	errs = append(errs, failed...)
	if cfg != nil && len(pods) == completions {
		for _, cell := range (harness.Shard{}).Cells(cfg) {
			switch got := cells[cell]; len(got) {
			case 1:
			case 0:
				bad("cell %s is in no pod's shard", cell)
			default:
				bad("cell %s is in the shards of pods %v: want exactly one", cell, got)
			}
		}
	}
	return pods, errors.Join(errs...)
}

// resolvePod resolves the arguments of the Job's pod with completion index
// i, as the Job controller, the kubelet and `kharness run -shard auto/n`
// would, and loads the config they name.
func resolvePod(job *batchv1.Job, c corev1.Container, i int, root string) (pod, *harness.Config, error) {
	env, err := podEnv(job, c, i)
	if err != nil {
		return pod{}, nil, err
	}
	var args []string
	for _, a := range c.Args {
		x, undefined := expand(a, env)
		if len(undefined) > 0 {
			return pod{}, nil, fmt.Errorf("arg %q: $(%s) is not defined in env (only JOB_COMPLETION_INDEX comes from an Indexed Job); Kubernetes would pass it on verbatim", a, strings.Join(undefined, "), $("))
		}
		args = append(args, x)
	}
	if len(args) == 0 || args[0] != "run" {
		return pod{}, nil, fmt.Errorf("args %q: want `run` and its flags", args)
	}
	shardArg, out, cfgPath, err := runArgs(args[1:])
	if err != nil {
		return pod{}, nil, fmt.Errorf("args %q: %v", args, err)
	}
	if shardArg == "" {
		return pod{}, nil, fmt.Errorf("args %q: no -shard: every pod would run the whole matrix", args)
	}
	if out == "" {
		return pod{}, nil, fmt.Errorf("args %q: no -o: the run directory would be in the pod's own filesystem", args)
	}
	out = filepath.Clean(out)
	if err := underVolume(out, c, job.Spec.Template.Spec.Volumes); err != nil {
		return pod{}, nil, fmt.Errorf("-o %s: %v", out, err)
	}

	// The pod's own environment is what ParseShard reads.
	old, had := os.LookupEnv("JOB_COMPLETION_INDEX")
	os.Setenv("JOB_COMPLETION_INDEX", env["JOB_COMPLETION_INDEX"])
	shard, err := harness.ParseShard(shardArg)
	if had {
		os.Setenv("JOB_COMPLETION_INDEX", old)
	} else {
		os.Unsetenv("JOB_COMPLETION_INDEX")
	}
	if err != nil {
		return pod{}, nil, err
	}

	if filepath.IsAbs(cfgPath) {
		return pod{}, nil, fmt.Errorf("config %s: want a path in the source tree, relative to the image's WORKDIR", cfgPath)
	}
	cfg, err := harness.LoadConfig(filepath.Join(root, cfgPath))
	if err != nil {
		return pod{}, nil, err
	}
	return pod{Index: i, Shard: shard, OutDir: out, Cells: shard.Cells(cfg)}, cfg, nil
}

// runArgs reads, from `kharness run`'s arguments, the values this check
// needs: -shard's, -o's (as "-name value" or "-name=value", with one dash
// or two, the last one given winning, as the flag package reads them) and
// the config, the last argument. Which flags run has, and whether these
// arguments parse, is not this package's to know: cmd/kharness's
// TestDeployJobArgsParse parses job.yaml's arguments with run's own flag
// set (a main package, which this test cannot import).
func runArgs(args []string) (shard, out, config string, err error) {
	if len(args) == 0 || strings.HasPrefix(args[len(args)-1], "-") {
		return "", "", "", errors.New("want one config file after the flags")
	}
	flags := args[:len(args)-1]
	for i := 0; i < len(flags); i++ {
		name, val, hasVal := strings.Cut(strings.TrimLeft(flags[i], "-"), "=")
		if name != "shard" && name != "o" {
			continue
		}
		if !hasVal {
			if i+1 == len(flags) {
				return "", "", "", fmt.Errorf("-%s has no value before the config", name)
			}
			i++
			val = flags[i]
		}
		if name == "shard" {
			shard = val
		} else {
			out = val
		}
	}
	return shard, out, args[len(args)-1], nil
}

// podEnv is the container's environment in the pod with completion index
// i: its env, each value expanded against the ones before it as the kubelet
// does, and the JOB_COMPLETION_INDEX the Job controller adds to Indexed
// Jobs' containers.
func podEnv(job *batchv1.Job, c corev1.Container, i int) (map[string]string, error) {
	idx := strconv.Itoa(i)
	labels := map[string]string{
		"job-name":                           job.Name,
		batchv1.JobNameLabel:                 job.Name,
		batchv1.JobCompletionIndexAnnotation: idx,
	}
	for k, v := range job.Spec.Template.Labels {
		labels[k] = v
	}
	fields := map[string]string{
		"metadata.namespace": "default",
		"metadata.annotations['" + batchv1.JobCompletionIndexAnnotation + "']": idx,
	}
	for k, v := range labels {
		fields["metadata.labels['"+k+"']"] = v
	}
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			v, _ := expand(e.Value, env)
			env[e.Name] = v
		case e.ValueFrom.FieldRef != nil:
			v, ok := fields[e.ValueFrom.FieldRef.FieldPath]
			if !ok {
				return nil, fmt.Errorf("env %s: fieldRef %q: not a label the Job controller sets or the template has, nor a field this check resolves", e.Name, e.ValueFrom.FieldRef.FieldPath)
			}
			env[e.Name] = v
		default:
			return nil, fmt.Errorf("env %s: only values and fieldRefs are resolved by this check", e.Name)
		}
	}
	if _, ok := env["JOB_COMPLETION_INDEX"]; !ok {
		env["JOB_COMPLETION_INDEX"] = idx
	}
	return env, nil
}

var varRef = regexp.MustCompile(`\$\$|\$\(([^)]*)\)`)

// expand replaces $(VAR) with its value in env and $$ with $, as
// Kubernetes expands a container's args; an undefined $(VAR) stays as
// written, and its name is returned.
func expand(s string, env map[string]string) (string, []string) {
	var undefined []string
	x := varRef.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		name := m[2 : len(m)-1]
		if v, ok := env[name]; ok {
			return v
		}
		undefined = append(undefined, name)
		return m
	})
	return x, undefined
}

// underVolume checks that dir lies in a volume mounted in c that outlives
// the pod (not an emptyDir), so the run directory survives the pod and a
// retried pod resumes it.
func underVolume(dir string, c corev1.Container, vols []corev1.Volume) error {
	if !filepath.IsAbs(dir) {
		return errors.New("want an absolute path in a mounted volume")
	}
	for _, m := range c.VolumeMounts {
		mp := filepath.Clean(m.MountPath)
		if dir == mp || !strings.HasPrefix(dir, mp+"/") {
			continue
		}
		for _, v := range vols {
			if v.Name == m.Name {
				if v.EmptyDir != nil {
					return fmt.Errorf("volume %s is an emptyDir: the results go with the pod", v.Name)
				}
				return nil
			}
		}
		return fmt.Errorf("volume mount %s names no volume", m.Name)
	}
	return errors.New("in no mounted volume: the results go with the pod")
}

func ptrString(p *int32) string {
	if p == nil {
		return "unset"
	}
	return strconv.Itoa(int(*p))
}

func readJob(t *testing.T) string {
	b, err := os.ReadFile("job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestJob checks deploy/job.yaml: it is a valid batch/v1 Job, and its pods
// together run every cell of the matrix it names exactly once.
func TestJob(t *testing.T) {
	t.Setenv("JOB_COMPLETION_INDEX", "") // checkJob sets it: not parallel
	pods, err := checkJob([]byte(readJob(t)), "..")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		t.Logf("pod %d: shard %s, -o %s, cells %v", p.Index, p.Shard, p.OutDir, p.Cells)
	}
}

// TestJobCheckFails: copies of job.yaml with one defect each are refused by
// checkJob, for the reason given, so TestJob passing means something.
func TestJobCheckFails(t *testing.T) {
	t.Setenv("JOB_COMPLETION_INDEX", "")
	orig := readJob(t)
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"misspelled field", "completionMode:", "completionsMode:", `unknown field "spec.completionsMode"`},
		{"field in the wrong case", "restartPolicy:", "restartpolicy:", `unknown field "spec.template.spec.restartpolicy"`},
		{"duplicate field", "parallelism: 4", "parallelism: 4\n  parallelism: 4", "already set"},
		{"wrong type", "completions: 4", "completions: four", "decoding into batch/v1 Job"},
		{"not Indexed", "completionMode: Indexed", "completionMode: NonIndexed", "completionMode"},
		{"fewer completions than shards", "completions: 4", "completions: 3", "keep completions and the n of -shard auto/n equal"},
		{"more completions than shards", "completions: 4", "completions: 5", "pod 4: -shard \"auto/4\": index \"4\""},
		{"parallelism below completions", "parallelism: 4", "parallelism: 2", "parallelism 2 differs from completions 4"},
		{"shard count not completions", "auto/4", "auto/2", `runs shard "0/2"`},
		{"one fixed shard for all pods", "auto/4", "0/4", "is in no pod's shard"},
		{"no -shard", `"-shard", "auto/4", `, "", "no -shard"},
		{"run directory without the index", "-$(JOB_COMPLETION_INDEX)", "", "pod 1 writes /results/kharness-matrix, as pod 0 does"},
		{"run directory in no volume", `"/results/`, `"/tmp/`, "in no mounted volume"},
		{"undefined variable", "$(JOB_NAME)", "$(JOB_NAMES)", "$(JOB_NAMES) is not defined"},
		{"index defined by hand", "- name: JOB_NAME", "- name: JOB_COMPLETION_INDEX\n              value: \"0\"\n            - name: JOB_NAME", "env JOB_COMPLETION_INDEX"},
		{"label the controller does not set", "labels['job-name']", "labels['jobname']", `fieldRef "metadata.labels['jobname']"`},
		{"missing config", "configs/default.toml", "configs/nosuch.toml", "nosuch.toml"},
		{"no config", `, "configs/default.toml"]`, `]`, "-o has no value before the config"},
		{"restart policy Always", "restartPolicy: Never", "restartPolicy: Always", `restartPolicy "Always"`},
		{"command replaces the entrypoint", "args: [", "command: [sh]\n          args: [", "replaces the image's entrypoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(orig, tc.old) {
				t.Fatalf("job.yaml has no %q to change", tc.old)
			}
			_, err := checkJob([]byte(strings.Replace(orig, tc.old, tc.new, 1)), "..")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("with %q for %q: error %v; want one containing %q", tc.new, tc.old, err, tc.want)
			}
		})
	}
}

// TestJobCheckSmallMatrix: a matrix of fewer cells than pods leaves shards
// empty, which kharness run refuses, so the check does too.
func TestJobCheckSmallMatrix(t *testing.T) {
	t.Setenv("JOB_COMPLETION_INDEX", "")
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "configs"), 0o755)
	small := "[[kernel]]\nname = \"6.1-cloud\"\nfamily = \"6.1\"\n[[config]]\nname = \"default\"\n[[config]]\nname = \"pti-on\"\ncmdline = \"pti=on\"\n"
	if err := os.WriteFile(filepath.Join(root, "configs", "default.toml"), []byte(small), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := checkJob([]byte(readJob(t)), root)
	if err == nil || !strings.Contains(err.Error(), "pod 2: shard 2/4 of the matrix is empty") {
		t.Errorf("2 cells in 4 pods: error %v; want pod 2's shard reported empty", err)
	}
}
