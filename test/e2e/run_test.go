package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prowl-ci/prowl/examples"
	"github.com/prowl-ci/prowl/internal/testutil"
)

func runProwl(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binaries(t), "prowl"), append([]string{"run"}, args...)...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil && cmd.ProcessState == nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// TestRunSeedJob: `prowl run --job echo-test` runs the embedded example here, streams date's output
// and leaves Prow's layout in ./_artifacts.
func TestRunSeedJob(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: the local node runtime needs root (mount namespaces)")
	}
	t.Parallel()
	dir := t.TempDir()
	code, stdout, stderr := runProwl(t, dir, "--job", "echo-test")
	if code != 0 || !strings.Contains(stdout, "UTC") {
		t.Fatalf("exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "_artifacts", "logs", "echo-test", "*", "finished.json"))
	if len(matches) != 1 {
		t.Errorf("artifacts: %v", matches)
	}
}

// TestRunPresubmitWithRefs: a presubmit runs on a pull request of a local repository, merged
// onto its base, and its failure is the exit code.
func TestRunPresubmitWithRefs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: the local node runtime needs root (mount namespaces)")
	}
	t.Parallel()
	repo := testutil.NewGitRepo(t, "org", "repo")
	repo.PullRequest("3", "feature.txt", "from pull request 3\n")
	dir := t.TempDir()
	example, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "examples", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(strings.ReplaceAll(string(example), "PROWL_DATA_DIR", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	jobs := `presubmits:
  org/repo:
  - name: pull-cat
    decorate: true
    spec: {containers: [{image: alpine, command: [cat, feature.txt]}]}
  - name: pull-fails
    decorate: true
    spec: {containers: [{image: alpine, command: [sh, -c, "exit 4"]}]}
`
	if err := os.WriteFile(filepath.Join(dir, "jobs.yaml"), []byte(jobs), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--config-path", filepath.Join(dir, "config.yaml"), "--job-config-path", filepath.Join(dir, "jobs.yaml"), "--pull", "3", "--repo-path", strings.TrimPrefix(repo.FileURL(), "file://")}
	code, stdout, stderr := runProwl(t, dir, append(args, "--job", "pull-cat")...)
	if code != 0 || !strings.Contains(stdout, "from pull request 3") {
		t.Fatalf("pull-cat: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	for _, f := range []string{"clone-records.json", "started.json", "build-log.txt", "finished.json"} {
		if m, _ := filepath.Glob(filepath.Join(dir, "_artifacts", "pr-logs", "pull", "org_repo", "3", "pull-cat", "*", f)); len(m) != 1 {
			t.Errorf("%s missing from Prow's layout", f)
		}
	}
	if code, _, stderr := runProwl(t, dir, append(args, "--job", "pull-fails")...); code != 1 {
		t.Errorf("pull-fails: exit %d, want 1\n%s", code, stderr)
	}
}

// TestRunExampleRepoJobs: the embedded examples' postsubmit runs the example repository's test
// with no flags but the job, and its presubmit fails on a pull request that breaks it.
func TestRunExampleRepoJobs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: the local node runtime needs root (mount namespaces)")
	}
	t.Parallel()
	dir := t.TempDir()
	code, stdout, stderr := runProwl(t, dir, "--job", "post-hello-test")
	if code != 0 || !strings.Contains(stdout, "PASS: Hello, Prowl!") {
		t.Fatalf("post-hello-test: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	bare, err := examples.InitRepo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// A pull request that breaks hello.sh, published as refs/pull/1/head.
	work := filepath.Join(t.TempDir(), "hello")
	git := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("clone", "-q", bare, work)
	if err := os.WriteFile(filepath.Join(work, "hello.sh"), []byte("#!/bin/sh\necho \"Go away, $1.\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	git("-C", work, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-am", "rude")
	git("-C", work, "push", "-q", "origin", "HEAD:refs/pull/1/head")
	code, stdout, stderr = runProwl(t, dir, "--job", "pull-hello-test", "--pull", "1", "--repo-path", bare)
	if code != 1 || !strings.Contains(stdout, "FAIL: hello.sh Prowl printed 'Go away, Prowl.'") {
		t.Fatalf("pull-hello-test on the rude pull request: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
}

// TestRunKilledLeavesNothingRunning: `prowl run` SIGKILLed while its job runs takes the job's
// processes with it (the node's containers die with the node, the command with its entrypoint),
// as a killed `prowl node` or `prowl up` does: nothing is left writing into the run's directory.
func TestRunKilledLeavesNothingRunning(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: the local node runtime needs root (mount namespaces)")
	}
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	cfg, jobs := upConfig(t, dir, "periodics:\n- interval: 1h\n  name: forever\n  decorate: true\n  spec:\n    containers:\n    - image: alpine\n      command: [/bin/sh, -c, 'echo $$ > "+pidFile+"; while :; do sleep 0.05; done']\n")
	cmd := exec.Command(filepath.Join(binaries(t), "prowl"), "run", "--config-path", cfg, "--job-config-path", jobs, "--job", "forever")
	cmd.Dir = dir
	testutil.KillLeavesNothing(t, cmd, pidFile)
}
