package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"sigs.k8s.io/yaml"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/testutil"
)

func TestMkpj(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(testutil.RepoRoot(), "examples", "config.yaml")
	jobs := filepath.Join(testutil.RepoRoot(), "examples", "jobs")
	code, stdout, stderr := run("mkpj", "--config-path", cfg, "--job-config-path", jobs, "--job", "echo-test")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var pj prowv1.ProwJob
	if err := yaml.UnmarshalStrict([]byte(stdout), &pj); err != nil {
		t.Fatal(err)
	}
	if pj.Spec.Job != "echo-test" || pj.Spec.Type != prowv1.PeriodicJob || pj.Status.State != prowv1.TriggeredState || pj.Labels[prowv1.IDLabel] != pj.Name {
		t.Errorf("printed %+v", pj)
	}

	code, _, stderr = run("mkpj", "--config-path", cfg, "--job-config-path", jobs, "--job", "echo-tset")
	if code != 1 || !strings.Contains(stderr, `no job named "echo-tset" in the config; did you mean echo-test?`) {
		t.Errorf("unknown job: exit %d %q", code, stderr)
	}
	if code, _, _ = run("mkpj", "--config-path", cfg, "--job-config-path", jobs); code != 2 {
		t.Errorf("no --job: exit %d, want 2", code)
	}
}

func TestMkpjPresubmitNeedsRefs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jobs := filepath.Join(dir, "jobs.yaml")
	if err := os.WriteFile(jobs, []byte("presubmits:\n  org/repo:\n  - name: unit\n    spec: {containers: [{image: a, command: [x]}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run("mkpj", "--job-config-path", jobs, "--job", "unit")
	if code != 1 || !strings.Contains(stderr, "job unit is a presubmit of org/repo: set --base-ref, --base-sha, --pull-number, --pull-sha and --pull-author") {
		t.Errorf("exit %d %q", code, stderr)
	}
	code, stdout, stderr := run("mkpj", "--job-config-path", jobs, "--job", "unit", "--base-ref", "main", "--base-sha", "abc", "--pull-number", "7", "--pull-sha", "def", "--pull-author", "bob")
	if code != 0 {
		t.Fatalf("exit %d %s", code, stderr)
	}
	var pj prowv1.ProwJob
	if err := yaml.Unmarshal([]byte(stdout), &pj); err != nil {
		t.Fatal(err)
	}
	if pj.Spec.Refs == nil || pj.Spec.Refs.Org != "org" || pj.Spec.Refs.Pulls[0].Number != 7 || pj.Labels[prowv1.PullLabel] != "7" {
		t.Errorf("refs %+v labels %v", pj.Spec.Refs, pj.Labels)
	}
}

func TestMkpodSeed(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := run("mkpod", "--prowjob", testutil.Seed("prowjob.yaml"), "--build-id", "1131381475451604992")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict([]byte(stdout), &pod); err != nil {
		t.Fatal(err)
	}
	if pod.Name != "21168afd-7cde-11e9-ba39-921b53acd1f4" || pod.Namespace != "test-pods" || len(pod.Spec.InitContainers) != 2 || pod.Spec.Containers[0].Command[0] != "/tools/entrypoint" {
		t.Errorf("pod %s/%s: %+v", pod.Namespace, pod.Name, pod.Spec)
	}
	if pod.Labels[prowv1.BuildIDLabel] != "1131381475451604992" {
		t.Errorf("labels %v", pod.Labels)
	}
	if code, _, stderr := run("mkpod", "--prowjob", filepath.Join(t.TempDir(), "missing.yaml")); code != 1 || !strings.Contains(stderr, "read prowjob") {
		t.Errorf("missing file: exit %d %q", code, stderr)
	}
	if code, _, _ := run("mkpod"); code != 2 {
		t.Errorf("no --prowjob: exit %d, want 2", code)
	}
}
