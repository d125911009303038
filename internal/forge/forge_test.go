package forge

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gh "github.com/google/go-github/v82/github"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/prowl-ci/prowl/internal/github"
	"github.com/prowl-ci/prowl/internal/hook"
)

// received records the webhooks a real Hook accepted (so their signatures were valid).
type received struct {
	mu     sync.Mutex
	events []any
}

func (r *received) handle(_ context.Context, eventType, _ string, payload []byte) error {
	ev, err := gh.ParseWebHook(eventType, payload)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	return nil
}

// wait returns the events once n have arrived (Hook handles them in the background).
func (r *received) wait(t *testing.T, n int) []any {
	t.Helper()
	var out []any
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		out = append([]any(nil), r.events...)
		return len(out) >= n, nil
	})
	if err != nil {
		t.Fatalf("%d webhooks arrived, want %d: %v", len(out), n, out)
	}
	return out
}

// env is a local GitHub on loopback with a real Hook receiving its webhooks, and a working clone
// of org/repo that tests commit in and push from.
type env struct {
	t       *testing.T
	srv     *Server
	url     string
	dataDir string
	work    string
	hook    *received
	clock   *clocktesting.FakeClock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	t.Parallel()
	e := &env{t: t, dataDir: t.TempDir(), work: filepath.Join(t.TempDir(), "repo"), hook: &received{},
		clock: clocktesting.NewFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var h http.Handler
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(hs.Close)
	srv, err := Open(ctx, Options{DataDir: e.dataDir, URL: hs.URL, Self: "/bin/true", SeedOrg: "org", SeedUser: "alice", Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	if h, err = srv.Handler(ctx); err != nil {
		t.Fatal(err)
	}
	e.srv, e.url = srv, hs.URL
	secrets, err := hook.LoadSecrets(HMACPath(e.dataDir))
	if err != nil {
		t.Fatal(err)
	}
	hsrv := &hook.Server{Secrets: secrets, Handle: e.hook.handle, Workers: 1}
	done := make(chan struct{})
	go func() { _ = hsrv.Run(ctx); close(done) }()
	hookHTTP := httptest.NewServer(hsrv)
	t.Cleanup(func() { hookHTTP.Close(); cancel(); <-done })
	srv.SetHook(hookHTTP.URL + "/hook")
	cancelServe, err := srv.Serving()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancelServe)
	return e
}

// client is go-github acting as user (the bot when empty).
func (e *env) client(user string) *Client {
	e.t.Helper()
	c, err := Connect(context.Background(), e.dataDir, user)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// prowlClient is Prowl's own GitHub client, as Trigger and Crier use it.
func (e *env) prowlClient() *github.Client {
	e.t.Helper()
	c, err := github.New(github.Options{Endpoint: e.url + APIPath, TokenPath: TokenPath(e.dataDir), Retries: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) git(dir string, args ...string) string {
	e.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.com", "GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files in the working clone and commits them on the current branch.
func (e *env) commit(msg string, files map[string]string) string {
	e.t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(e.work, name), []byte(content), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	e.git(e.work, "add", "-A")
	e.git(e.work, "commit", "-q", "-m", msg)
	return e.git(e.work, "rev-parse", "HEAD")
}

// createRepo creates org/repo through the API and pushes main (README.md, hello.sh) over HTTP.
func (e *env) createRepo() string {
	e.t.Helper()
	repo, _, err := e.client("").GitHub.Repositories.Create(context.Background(), "org", &gh.Repository{Name: gh.Ptr("repo")})
	if err != nil {
		e.t.Fatal(err)
	}
	if repo.GetCloneURL() != e.url+"/org/repo.git" || repo.GetHTMLURL() != e.url+"/org/repo" || repo.GetDefaultBranch() != "main" {
		e.t.Errorf("repository's urls: %s %s, default branch %q", repo.GetCloneURL(), repo.GetHTMLURL(), repo.GetDefaultBranch())
	}
	e.git(filepath.Dir(e.work), "init", "-q", "-b", "main", e.work)
	sha := e.commit("first", map[string]string{"README.md": "hi\n", "hello.sh": "echo hi\n"})
	e.git(e.work, "push", "-q", repo.GetCloneURL(), "main")
	return sha
}

// branch commits files on a new branch and pushes it.
func (e *env) branch(name string, files map[string]string) string {
	e.t.Helper()
	e.git(e.work, "checkout", "-q", "-B", name, "main")
	sha := e.commit("change on "+name, files)
	e.git(e.work, "push", "-q", "-f", e.url+"/org/repo.git", name)
	e.git(e.work, "checkout", "-q", "main")
	return sha
}
