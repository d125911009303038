package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prowl-ci/prowl/internal/testutil"
)

// TestRunNestedMount: a decorated presubmit that mounts a cache below decoration's /home/prow/go
// (accepted by Prow, and so by Prowl) runs on the local node, and its test container sees both
// mounts: the clone in the code volume and its own cache at /home/prow/go/pkg, each a mount point
// of its own.
func TestRunNestedMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: the local node runtime needs root (mount namespaces)")
	}
	t.Parallel()
	repo := testutil.NewGitRepo(t, "org", "repo")
	repo.PullRequest("5", "feature.txt", "from pull request 5\n")
	dir := t.TempDir()
	example, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "examples", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(strings.ReplaceAll(string(example), "PROWL_DATA_DIR", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	// The script prints the clone's file (from the code volume), writes and reads back the cache,
	// and counts the two mount points in its own mount table.
	jobs := `presubmits:
  org/repo:
  - name: pull-nested-cache
    decorate: true
    spec:
      volumes:
      - name: gocache
        emptyDir: {}
      containers:
      - image: golang
        command:
        - sh
        - -c
        - |
          cat /home/prow/go/src/github.com/org/repo/feature.txt
          echo cached > /home/prow/go/pkg/marker && cat /home/prow/go/pkg/marker
          echo mounts: $(awk '$5 == "/home/prow/go" || $5 == "/home/prow/go/pkg" {print $5}' /proc/self/mountinfo | sort -u | tr '\n' ' ')
        volumeMounts:
        - name: gocache
          mountPath: /home/prow/go/pkg
`
	if err := os.WriteFile(filepath.Join(dir, "jobs.yaml"), []byte(jobs), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runProwl(t, dir, "--config-path", filepath.Join(dir, "config.yaml"), "--job-config-path", filepath.Join(dir, "jobs.yaml"),
		"--pull", "5", "--repo-path", strings.TrimPrefix(repo.FileURL(), "file://"), "--job", "pull-nested-cache")
	if code != 0 {
		t.Fatalf("exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"from pull request 5", "cached", "mounts: /home/prow/go /home/prow/go/pkg"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}
