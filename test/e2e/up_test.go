// Package e2e runs Prowl as a user does, through its command line, against real parts.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/testutil"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestUpRunsJobsToTheirEnd: `prowl up` starts a local control plane and node and runs the seed's
// echo-test to success, with its log and finished.json in the file bucket, and a job whose
// command exits 1 to failure, and a job over its timeout to failure with the entrypoint's code.
func TestUpRunsJobsToTheirEnd(t *testing.T) {
	if _, err := testutil.ControlPlaneAssets(); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		t.Skip("skipping: the local node runs containers in mount namespaces, which needs root")
	}
	dataDir := t.TempDir()
	seed, err := os.ReadFile(testutil.Seed("periodic-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	failing := "- interval: 60m\n  name: fail-test\n  decorate: true\n  spec:\n    containers:\n    - image: alpine\n      command: [/bin/sh, -c, 'echo failing; exit 1']\n"
	// Over its timeout, ignoring the interrupt: the entrypoint kills it after the grace period.
	slow := "- interval: 60m\n  name: timeout-test\n  decorate: true\n  decoration_config:\n    timeout: 2s\n    grace_period: 1s\n  spec:\n    containers:\n    - image: alpine\n      command: [/bin/sh, -c, 'trap \"\" INT; echo slow; sleep 60']\n"
	cfgPath, jobs := upConfig(t, dataDir, string(seed)+failing+slow)
	ctx := context.Background()
	up := startUp(t, dataDir, cfgPath, jobs)
	c := up.client(t, filepath.Join(dataDir, "kubeconfig"))
	final := map[string]prowv1.ProwJob{}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		var list prowv1.ProwJobList
		if err := c.List(ctx, &list, client.InNamespace("default")); err != nil {
			return false, nil
		}
		for _, pj := range list.Items {
			if pj.Complete() {
				final[pj.Spec.Job] = pj
			}
		}
		return len(final) == 3, nil
	})
	if err != nil {
		t.Fatalf("jobs did not finish: %v\n%s", final, up.out.String())
	}
	echo, fail := final["echo-test"], final["fail-test"]
	if echo.Status.State != prowv1.SuccessState || fail.Status.State != prowv1.FailureState {
		t.Fatalf("echo-test %s (%s), fail-test %s (%s)", echo.Status.State, echo.Status.Description, fail.Status.State, fail.Status.Description)
	}
	dir := filepath.Join(dataDir, "artifacts", "logs", "echo-test", echo.Status.BuildID)
	for _, f := range []string{"started.json", "build-log.txt", "finished.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	checkRunPage(t, echo, up.out.String())
	// The artifact completer adds prowjob.json and podinfo.json once the job is final.
	for _, f := range []string{"prowjob.json", "podinfo.json"} {
		if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			_, err := os.Stat(filepath.Join(dir, f))
			return err == nil, nil
		}); err != nil {
			t.Errorf("%s was not written into %s", f, dir)
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, "build-log.txt"))
	if !strings.Contains(string(log), time.Now().UTC().Format("2006")) {
		t.Errorf("build-log.txt lacks date's output: %q", log)
	}
	var finished struct {
		Passed bool `json:"passed"`
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "finished.json"))
	if err := json.Unmarshal(raw, &finished); err != nil || !finished.Passed {
		t.Errorf("finished.json %s", raw)
	}
	failLog, _ := os.ReadFile(filepath.Join(dataDir, "artifacts", "logs", "fail-test", fail.Status.BuildID, "build-log.txt"))
	if !strings.Contains(string(failLog), "failing") {
		t.Errorf("fail-test's build-log.txt: %q", failLog)
	}
	// kubectl logs reaches the local node's log endpoint through the API server.
	assets, _ := testutil.ControlPlaneAssets()
	kubectl := func(args ...string) string {
		out, err := exec.Command(filepath.Join(assets, "kubectl"), append([]string{"--kubeconfig", filepath.Join(dataDir, "kubeconfig"), "-n", "test-pods"}, args...)...).CombinedOutput()
		if err != nil {
			t.Errorf("kubectl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := kubectl("logs", echo.Status.PodName, "-c", "test"); !strings.Contains(out, time.Now().UTC().Format("2006")) {
		t.Errorf("kubectl logs of echo-test's test container: %q, want date's output", out)
	}
	if out := kubectl("logs", fail.Status.PodName, "-c", "test", "--tail=1"); strings.TrimSpace(out) != "failing" {
		t.Errorf("kubectl logs --tail=1 of fail-test: %q, want its last line", out)
	}
	// As in Prow, a job over its timeout fails: the entrypoint records 127 (its own error code)
	// after SIGINT, the grace period and SIGKILL, and finished.json says FAILURE.
	slowJob := final["timeout-test"]
	if slowJob.Status.State != prowv1.FailureState || !strings.Contains(slowJob.Status.Description, "exited 127") {
		t.Errorf("timeout-test: %s (%s), want failure with the entrypoint's 127", slowJob.Status.State, slowJob.Status.Description)
	}
	slowDir := filepath.Join(dataDir, "artifacts", "logs", "timeout-test", slowJob.Status.BuildID)
	slowLog, _ := os.ReadFile(filepath.Join(slowDir, "build-log.txt"))
	if !strings.Contains(string(slowLog), "slow") || !strings.Contains(string(slowLog), "did not finish before its 2s timeout") {
		t.Errorf("timeout-test's build-log.txt: %q", slowLog)
	}
	var slowFinished struct {
		Passed bool   `json:"passed"`
		Result string `json:"result"`
	}
	raw, _ = os.ReadFile(filepath.Join(slowDir, "finished.json"))
	if err := json.Unmarshal(raw, &slowFinished); err != nil || slowFinished.Passed || slowFinished.Result != "FAILURE" {
		t.Errorf("timeout-test's finished.json %s", raw)
	}
	if took := slowJob.Status.CompletionTime.Sub(slowJob.Status.StartTime.Time); took > 30*time.Second {
		t.Errorf("timeout-test took %v: the 2s timeout and 1s grace period did not stop it", took)
	}
	if code := up.stop(t); code != 0 {
		t.Errorf("prowl up exited %d after Ctrl-C:\n%s", code, up.out.String())
	}
}

// upConfig writes the examples' prow config with dataDir in place, and jobs, into dataDir.
func upConfig(t *testing.T, dataDir, jobs string) (cfgPath, jobsPath string) {
	t.Helper()
	example, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "examples", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfgPath, jobsPath = filepath.Join(dataDir, "config.yaml"), filepath.Join(dataDir, "jobs.yaml")
	if err := os.WriteFile(cfgPath, []byte(strings.ReplaceAll(string(example), "PROWL_DATA_DIR", dataDir)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jobsPath, []byte(jobs), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfgPath, jobsPath
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds prowl and the pod utilities into one directory, once per test run: the local
// node runs the utilities built beside prowl.
func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "prowl-e2e-bin-")
		if buildErr != nil {
			return
		}
		build := exec.Command("go", "build", "-o", binDir+"/", "./cmd/...")
		build.Dir = testutil.RepoRoot()
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// upProcess is a running `prowl up` binary; stop sends it Ctrl-C.
type upProcess struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	exited chan error
	out    *syncBuffer
}

func startUp(t *testing.T, dataDir, cfgPath, jobs string, extra ...string) *upProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &upProcess{cancel: cancel, exited: make(chan error, 1), out: &syncBuffer{}}
	p.cmd = exec.CommandContext(ctx, filepath.Join(binaries(t), "prowl"), append([]string{"up", "--data-dir", dataDir, "--config-path", cfgPath, "--job-config-path", jobs, "--deck-addr", "127.0.0.1:0", "--git-addr", "127.0.0.1:0"}, extra...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Cancel = func() error { return p.cmd.Process.Signal(os.Interrupt) }
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(cancel)
	return p
}

// stop sends Ctrl-C and returns prowl up's exit code. (Wait reports the cancelled context; the
// exit code says how prowl up took the interrupt.)
func (p *upProcess) stop(t *testing.T) int {
	t.Helper()
	p.cancel()
	select {
	case err := <-p.exited:
		t.Logf("prowl up stopped: %v", err)
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(time.Minute):
		t.Fatal("prowl up did not stop on Ctrl-C")
		return -1
	}
}

// client waits for the kubeconfig prowl up writes and returns a client for its control plane.
func (p *upProcess) client(t *testing.T, kubeconfig string) client.Client {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		select {
		case err := <-p.exited:
			t.Fatalf("prowl up exited early (%v):\n%s", err, p.out.String())
		default:
		}
		_, err := os.Stat(kubeconfig)
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("no kubeconfig written:\n%s", p.out.String())
	}
	return testutil.KubeconfigClient(t, kubeconfig)
}

// TestUpRestartMidJob: `prowl up` stops while a job runs and starts again on the same data dir;
// the node fails the orphaned Pod as disrupted, Plank revives the job, and it ends once, in
// success, with no second ProwJob.
func TestUpRestartMidJob(t *testing.T) {
	if _, err := testutil.ControlPlaneAssets(); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		t.Skip("skipping: the local node runs containers in mount namespaces, which needs root")
	}
	dataDir := t.TempDir()
	cfgPath, jobs := upConfig(t, dataDir, "periodics:\n- interval: 60m\n  name: slow\n  decorate: true\n  spec:\n    containers:\n    - image: alpine\n      command: [/bin/sh, -c, 'sleep 6; echo done']\n")
	kubeconfig := filepath.Join(dataDir, "kubeconfig")
	first := startUp(t, dataDir, cfgPath, jobs)
	c := first.client(t, kubeconfig)
	ctx := context.Background()
	var pj prowv1.ProwJob
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var list prowv1.ProwJobList
		if c.List(ctx, &list, client.InNamespace("default")) != nil || len(list.Items) == 0 {
			return false, nil
		}
		pj = list.Items[0]
		return pj.Status.State == prowv1.PendingState, nil
	})
	if err != nil {
		t.Fatalf("slow never started:\n%s", first.out.String())
	}
	time.Sleep(2 * time.Second) // well into the job's six seconds
	first.stop(t)
	_ = os.Remove(kubeconfig)

	second := startUp(t, dataDir, cfgPath, jobs)
	defer second.stop(t)
	c = second.client(t, kubeconfig)
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(&pj), &pj); err != nil {
			return false, nil
		}
		return pj.Complete(), nil
	})
	if err != nil {
		t.Fatalf("slow did not finish after the restart: %+v\n%s", pj.Status, second.out.String())
	}
	if pj.Status.State != prowv1.SuccessState || pj.Status.PodRevivalCount != 1 {
		t.Errorf("after a restart: %s (%s), revivals %d; want success after one revival", pj.Status.State, pj.Status.Description, pj.Status.PodRevivalCount)
	}
	var list prowv1.ProwJobList
	if err := c.List(ctx, &list, client.InNamespace("default")); err != nil || len(list.Items) != 1 {
		t.Errorf("%d ProwJobs after the restart, want 1 (%v)", len(list.Items), err)
	}
}

// checkRunPage checks that a job's status.url is its run page on the Deck `prowl up` printed, and
// that the page shows the job and its build log.
func checkRunPage(t *testing.T, pj prowv1.ProwJob, out string) {
	t.Helper()
	i := strings.Index(out, "deck: http://")
	if i < 0 {
		t.Fatalf("prowl up did not print Deck's URL:\n%s", out)
	}
	deckURL := strings.Fields(out[i+len("deck: "):])[0]
	if !strings.HasPrefix(pj.Status.URL, deckURL+"view/file/") {
		t.Fatalf("status.url %q is not a run page on %s", pj.Status.URL, deckURL)
	}
	resp, err := http.Get(pj.Status.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), pj.Spec.Job) || !strings.Contains(string(body), "Build log") {
		t.Fatalf("GET %s: %s\n%.2000s", pj.Status.URL, resp.Status, body)
	}
	list, err := http.Get(deckURL)
	if err != nil {
		t.Fatal(err)
	}
	defer list.Body.Close()
	page, _ := io.ReadAll(list.Body)
	if !strings.Contains(string(page), pj.Spec.Job) {
		t.Errorf("Deck's list at %s does not show %s", deckURL, pj.Spec.Job)
	}
}
