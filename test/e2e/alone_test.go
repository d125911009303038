package e2e

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// prowlAlone is a directory holding the prowl binary and nothing else, as `go install
// .../cmd/prowl` leaves it: the local node must run the pod utilities from prowl itself.
func prowlAlone(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src, err := os.Open(filepath.Join(binaries(t), "prowl"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(dir, "prowl"), os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "prowl")
}

// TestRunWithOnlyProwl: with no pod utility binary beside prowl, `prowl run` runs the seed job
// and, from the repository's examples/ used in place, the example repository's postsubmit.
func TestRunWithOnlyProwl(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: the local node runtime needs root (mount namespaces)")
	}
	t.Parallel()
	prowl := prowlAlone(t)
	examples := filepath.Join(testutil.RepoRoot(), "examples")
	for _, args := range [][]string{
		{"--job", "echo-test"},
		{"--config-path", filepath.Join(examples, "config.yaml"), "--job-config-path", filepath.Join(examples, "jobs"), "--job", "post-hello-test"},
	} {
		dir := t.TempDir()
		cmd := exec.Command(prowl, append([]string{"run"}, args...)...)
		cmd.Dir = dir
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("prowl run %v with only prowl: %v\nstdout %q\n%s", args, err, stdout.String(), stderr.String())
		}
		finished, _ := filepath.Glob(filepath.Join(dir, "_artifacts", "logs", args[len(args)-1], "*", "finished.json"))
		if len(finished) != 1 {
			t.Errorf("prowl run %v: finished.json %v", args, finished)
		}
		if _, err := os.Stat(filepath.Join(dir, "PROWL_DATA_DIR")); err == nil {
			t.Errorf("prowl run %v made a folder named PROWL_DATA_DIR", args)
		}
	}
}

// TestUpExamplesInPlaceWithOnlyProwl: `prowl up --config-path examples/config.yaml
// --job-config-path examples/jobs`, with only the prowl binary, runs echo-test to success with
// its artifacts in the data dir, not in a folder named PROWL_DATA_DIR.
func TestUpExamplesInPlaceWithOnlyProwl(t *testing.T) {
	if _, err := testutil.ControlPlaneAssets(); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		t.Skip("skipping: the local node runs containers in mount namespaces, which needs root")
	}
	dataDir, cwd := t.TempDir(), t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	p := &upProcess{cancel: cancel, exited: make(chan error, 1), out: &syncBuffer{}}
	p.cmd = exec.CommandContext(ctx, prowlAlone(t), "up", "--data-dir", dataDir, "--config-path", "examples/config.yaml",
		"--job-config-path", "examples/jobs", "--git-addr", "127.0.0.1:0", "--deck-addr", "127.0.0.1:0", "--log-format", "text")
	p.cmd.Dir = cwd
	if err := os.Symlink(filepath.Join(testutil.RepoRoot(), "examples"), filepath.Join(cwd, "examples")); err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Cancel = func() error { return p.cmd.Process.Signal(os.Interrupt) }
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(cancel)
	c := p.client(t, filepath.Join(dataDir, "kubeconfig"))
	var echo prowv1.ProwJob
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		var list prowv1.ProwJobList
		if err := c.List(ctx, &list, client.InNamespace("default")); err != nil {
			return false, nil
		}
		for _, pj := range list.Items {
			if pj.Spec.Job == "echo-test" && pj.Complete() {
				echo = pj
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("echo-test did not finish:\n%s", p.out.String())
	}
	if echo.Status.State != prowv1.SuccessState {
		t.Errorf("echo-test: %s (%s), want success\n%s", echo.Status.State, echo.Status.Description, p.out.String())
	}
	if _, err := os.Stat(filepath.Join(dataDir, "artifacts", "logs", "echo-test", echo.Status.BuildID, "finished.json")); err != nil {
		t.Errorf("echo-test's finished.json is not under the data dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cwd, "PROWL_DATA_DIR")); err == nil {
		t.Error("prowl up made a folder named PROWL_DATA_DIR")
	}
	// Text logs: Plank's state change names the job.
	if out := p.out.String(); !strings.Contains(out, "state changed job=echo-test") || strings.Contains(out, `{"level"`) {
		t.Errorf("--log-format text: want short lines naming the job, no JSON:\n%s", out)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("prowl up exited %d after Ctrl-C:\n%s", code, p.out.String())
	}
}
