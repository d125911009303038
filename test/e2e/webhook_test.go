package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/github/githubtest"
	"github.com/prowl-ci/prowl/internal/hook"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// TestUpWebhookPresubmit: `prowl up` with GitHub credentials and a webhook secret runs Hook and
// Crier. A signed pull_request webhook for a local repository starts its presubmit, which clones
// the pull request merged onto its base and succeeds, and the fake GitHub receives the statuses.
func TestUpWebhookPresubmit(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: the local node runs containers in mount namespaces, which needs root")
	}
	repo := testutil.NewGitRepo(t, "org", "repo")
	base := repo.Git(repo.Work, "rev-parse", "main")
	head := repo.PullRequest("1", "feature.txt", "from pull request 1\n")
	cloneURL := repo.ServeHTTP()

	gh := githubtest.New(t)
	gh.AddToken("bot-token")
	gh.AddMember("org", "alice")
	gh.SetPullRequest("org/repo", githubtest.PullRequest{Number: 1, Author: "alice", HeadSHA: head, HeadRef: "pr-1", BaseRef: "main", BaseSHA: base, Files: []string{"feature.txt"}})

	dataDir := t.TempDir()
	jobs := `presubmits:
  org/repo:
  - name: pull-check
    always_run: true
    decorate: true
    clone_uri: ` + cloneURL + `
    spec:
      containers:
      - image: alpine
        command: [/bin/sh, -c, 'cat feature.txt README.md']
`
	cfgPath, jobsPath := upConfig(t, dataDir, jobs)
	secrets := filepath.Join(dataDir, "secrets")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"token": "bot-token", "hmac": "webhook-secret"} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	up := startUp(t, dataDir, cfgPath, jobsPath, "--github-endpoint", gh.URL, "--github-token-path", filepath.Join(secrets, "token"),
		"--hmac-secret-file", filepath.Join(secrets, "hmac"), "--hook-addr", "127.0.0.1:0", "--git-addr", "127.0.0.1:0", "--deck-addr", "127.0.0.1:0")
	c := up.client(t, filepath.Join(dataDir, "kubeconfig"))
	hookURL := waitOutput(t, up, regexp.MustCompile(`hook: (http://\S+/hook)`))

	payload, _ := json.Marshal(map[string]any{
		"action": "opened", "number": 1,
		"pull_request": map[string]any{"number": 1, "state": "open", "draft": false, "title": "Add a feature", "html_url": "https://github.com/org/repo/pull/1",
			"user": map[string]any{"login": "alice"}, "labels": []any{},
			"head": map[string]any{"sha": head, "ref": "pr-1"}, "base": map[string]any{"sha": base, "ref": "main"}},
		"repository": map[string]any{"name": "repo", "full_name": "org/repo", "owner": map[string]any{"login": "org"}},
		"sender":     map[string]any{"login": "alice"},
	})
	req, _ := http.NewRequest(http.MethodPost, hookURL, bytes.NewReader(payload))
	req.Header.Set("X-GitHub-Event", "pull_request")
	req.Header.Set("X-GitHub-Delivery", "e2e-1")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", hook.Signature([]byte("webhook-secret"), payload))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("hook answered %d", resp.StatusCode)
	}

	var pj prowv1.ProwJob
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		var list prowv1.ProwJobList
		if err := c.List(ctx, &list, client.InNamespace("default")); err != nil || len(list.Items) == 0 {
			return false, nil
		}
		pj = list.Items[0]
		return pj.Complete(), nil
	})
	if err != nil || pj.Status.State != prowv1.SuccessState {
		t.Fatalf("pull-check: %s (%s) %v\n%s", pj.Status.State, pj.Status.Description, err, up.out.String())
	}
	logPath := filepath.Join(dataDir, "artifacts", "pr-logs", "pull", "org_repo", "1", "pull-check", pj.Status.BuildID, "build-log.txt")
	log, _ := os.ReadFile(logPath)
	if !strings.Contains(string(log), "from pull request 1") || !strings.Contains(string(log), "hello") {
		t.Errorf("build-log.txt does not show the merged checkout: %q", log)
	}
	// Crier's statuses: pending (triggered), pending (started), success, on the head SHA.
	deadline := time.Now().Add(30 * time.Second)
	var states []string
	for time.Now().Before(deadline) {
		states = nil
		for _, s := range gh.Statuses("org/repo") {
			if s.Context == "pull-check" && s.SHA == head {
				states = append(states, s.State)
			}
		}
		if len(states) > 0 && states[len(states)-1] == "success" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(states) < 2 || states[0] != "pending" || states[len(states)-1] != "success" {
		t.Errorf("statuses %v, want pending ... success", states)
	}
	// From the pull request's status a user reaches the run: its target_url is the job's
	// status.url, the job's run page on the Deck prowl up printed, which opens.
	var link string
	for _, s := range gh.Statuses("org/repo") {
		if s.Context == "pull-check" && s.SHA == head && s.State == "success" {
			link = s.TargetURL
		}
	}
	if link == "" || link != pj.Status.URL {
		t.Errorf("the success status links to %q, want the job's status.url %q", link, pj.Status.URL)
	}
	checkRunPage(t, pj, up.out.String())
	if code := up.stop(t); code != 0 {
		t.Errorf("prowl up exited %d after Ctrl-C:\n%s", code, up.out.String())
	}
}

// waitOutput waits for prowl up to print a line matching re and returns its first group.
func waitOutput(t *testing.T, up *upProcess, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(up.out.String()); m != nil {
			return m[1]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("prowl up never printed %s:\n%s", re, up.out.String())
	return ""
}
