package forge

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	gh "github.com/google/go-github/v82/github"

	"github.com/prowl-ci/prowl/internal/github"
)

// TestPullRequestOpenedAndRead: a pull request opened as alice is served in GitHub's shape to
// Prowl's client, refs/pull/1/head points at its head, its files are the branch's changes, and
// Hook receives a signed pull_request opened.
func TestPullRequestOpenedAndRead(t *testing.T) {
	e := newEnv(t)
	base := e.createRepo()
	head := e.branch("feature", map[string]string{"hello.sh": "echo hello\n", "new.txt": "new\n"})
	ctx := context.Background()
	pr, _, err := e.client("alice").GitHub.PullRequests.Create(ctx, "org", "repo", &gh.NewPullRequest{Title: gh.Ptr("Say hello"), Head: gh.Ptr("feature"), Base: gh.Ptr("main")})
	if err != nil {
		t.Fatal(err)
	}
	if pr.GetNumber() != 1 || pr.GetUser().GetLogin() != "alice" || pr.GetHead().GetSHA() != head || pr.GetBase().GetSHA() != base || pr.GetState() != "open" {
		t.Errorf("created %+v", pr)
	}
	if got := e.git(filepath.Join(GitRoot(e.dataDir), "org/repo.git"), "rev-parse", "refs/pull/1/head"); got != head {
		t.Errorf("refs/pull/1/head = %s, want %s", got, head)
	}
	pc := e.prowlClient()
	got, err := pc.PullRequest(ctx, "org", "repo", 1)
	if err != nil || got.GetTitle() != "Say hello" || got.GetHTMLURL() != e.url+"/org/repo/pull/1" || got.GetHead().GetRef() != "feature" {
		t.Errorf("PullRequest: %+v %v", got, err)
	}
	files, err := pc.PullRequestFiles(ctx, "org", "repo", 1)
	slices.Sort(files)
	if err != nil || strings.Join(files, ",") != "hello.sh,new.txt" {
		t.Errorf("PullRequestFiles = %v %v, want hello.sh and new.txt", files, err)
	}
	ev, ok := e.hook.wait(t, 1)[0].(*gh.PullRequestEvent)
	if !ok || ev.GetAction() != "opened" || ev.GetNumber() != 1 || ev.GetPullRequest().GetHead().GetSHA() != head ||
		ev.GetRepo().GetOwner().GetLogin() != "org" || ev.GetRepo().GetName() != "repo" || ev.GetSender().GetLogin() != "alice" {
		t.Errorf("webhook %+v", ev)
	}
	if _, err := pc.PullRequest(ctx, "org", "repo", 2); !isStatus(err, http.StatusNotFound) {
		t.Errorf("pull request 2: %v, want 404", err)
	}
	_, _, err = e.client("alice").GitHub.PullRequests.Create(ctx, "org", "repo", &gh.NewPullRequest{Head: gh.Ptr("feature"), Base: gh.Ptr("main")})
	if !isStatus(err, http.StatusUnprocessableEntity) || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("a second pull request for feature: %v, want 422 already exists", err)
	}
	_, _, err = e.client("alice").GitHub.PullRequests.Create(ctx, "org", "repo", &gh.NewPullRequest{Head: gh.Ptr("nope"), Base: gh.Ptr("main")})
	if !isStatus(err, http.StatusUnprocessableEntity) || !strings.Contains(err.Error(), "push it first") {
		t.Errorf("a pull request from a missing branch: %v, want 422 saying to push it", err)
	}
}

// isStatus says whether err is GitHub's error response with this status code, either as go-github
// returns it (from Prowl's client too).
func isStatus(err error, code int) bool {
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response.StatusCode == code
}

// TestPushSendsPushAndSynchronize: a push to a branch sends Hook the push event with each
// commit's added and modified files and the local html_url, and moves the pull request from that
// branch (refs/pull/1/head too), which sends synchronize.
func TestPushSendsPushAndSynchronize(t *testing.T) {
	e := newEnv(t)
	e.createRepo()
	first := e.branch("feature", map[string]string{"README.md": "readme only\n"})
	ctx := context.Background()
	if _, _, err := e.client("alice").GitHub.PullRequests.Create(ctx, "org", "repo", &gh.NewPullRequest{Head: gh.Ptr("feature"), Base: gh.Ptr("main")}); err != nil {
		t.Fatal(err)
	}
	e.git(e.work, "checkout", "-q", "feature")
	second := e.commit("script", map[string]string{"hello.sh": "echo changed\n", "added.sh": "true\n"})
	e.git(e.work, "push", "-q", e.url+"/org/repo.git", "feature")
	err := e.client("alice").Pushed(ctx, "org/repo", "alice", []RefUpdate{{Before: first, After: second, Ref: "refs/heads/feature"}})
	if err != nil {
		t.Fatal(err)
	}
	events := e.hook.wait(t, 3)
	push, ok := events[1].(*gh.PushEvent)
	if !ok || push.GetRef() != "refs/heads/feature" || push.GetBefore() != first || push.GetAfter() != second || len(push.Commits) != 1 {
		t.Fatalf("push event %+v", events[1])
	}
	c := push.Commits[0]
	if c.GetID() != second || strings.Join(c.Added, ",") != "added.sh" || strings.Join(c.Modified, ",") != "hello.sh" || c.GetMessage() != "script" {
		t.Errorf("pushed commit %+v", c)
	}
	if push.GetRepo().GetHTMLURL() != e.url+"/org/repo" || push.GetRepo().GetOwner().GetLogin() != "org" || push.GetPusher().GetName() != "alice" {
		t.Errorf("push repository %+v pusher %+v", push.GetRepo(), push.GetPusher())
	}
	sync, ok := events[2].(*gh.PullRequestEvent)
	if !ok || sync.GetAction() != "synchronize" || sync.GetBefore() != first || sync.GetAfter() != second || sync.GetPullRequest().GetHead().GetSHA() != second {
		t.Errorf("synchronize event %+v", events[2])
	}
	if got := e.git(filepath.Join(GitRoot(e.dataDir), "org/repo.git"), "rev-parse", "refs/pull/1/head"); got != second {
		t.Errorf("refs/pull/1/head = %s after the push, want %s", got, second)
	}
	// A new branch's push lists only the commits no other branch has.
	e.git(e.work, "checkout", "-q", "-b", "other", "main")
	third := e.commit("other", map[string]string{"o.txt": "o\n"})
	e.git(e.work, "push", "-q", e.url+"/org/repo.git", "other")
	if err := e.client("").Pushed(ctx, "org/repo", "bob", []RefUpdate{{Before: zeroSHA, After: third, Ref: "refs/heads/other"}}); err != nil {
		t.Fatal(err)
	}
	created := e.hook.wait(t, 4)[3].(*gh.PushEvent)
	if !created.GetCreated() || len(created.Commits) != 1 || created.Commits[0].GetID() != third {
		t.Errorf("new branch's push: created %v, commits %v", created.GetCreated(), created.Commits)
	}
}

// TestCloseAndSyncPull: closing sends pull_request closed; a closed pull request cannot be synced.
func TestCloseAndSyncPull(t *testing.T) {
	e := newEnv(t)
	e.createRepo()
	e.branch("feature", map[string]string{"a.txt": "a\n"})
	ctx := context.Background()
	c := e.client("alice")
	if _, _, err := c.GitHub.PullRequests.Create(ctx, "org", "repo", &gh.NewPullRequest{Head: gh.Ptr("feature"), Base: gh.Ptr("main")}); err != nil {
		t.Fatal(err)
	}
	// The branch moves without its push being told (hooks off): sync catches the pull request up.
	moved := e.branch("feature", map[string]string{"a.txt": "b\n"})
	pr, err := c.SyncPull(ctx, "org/repo", 1)
	if err != nil || pr.GetHead().GetSHA() != moved {
		t.Fatalf("sync: %+v %v", pr.GetHead(), err)
	}
	closed, _, err := c.GitHub.PullRequests.Edit(ctx, "org", "repo", 1, &gh.PullRequest{State: gh.Ptr("closed")})
	if err != nil || closed.GetState() != "closed" || closed.ClosedAt == nil {
		t.Fatalf("close: %+v %v", closed, err)
	}
	events := e.hook.wait(t, 3)
	if ev := events[1].(*gh.PullRequestEvent); ev.GetAction() != "synchronize" {
		t.Errorf("second event %s, want synchronize", ev.GetAction())
	}
	if ev := events[2].(*gh.PullRequestEvent); ev.GetAction() != "closed" || ev.GetPullRequest().GetState() != "closed" {
		t.Errorf("third event %s (%s), want closed", ev.GetAction(), ev.GetPullRequest().GetState())
	}
	if _, err := c.SyncPull(ctx, "org/repo", 1); !isStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("sync of a closed pull request: %v, want 422", err)
	}
	all, err := c.AllPulls(ctx)
	if err != nil || len(all) != 1 || all[0].GetState() != "closed" {
		t.Errorf("all pulls: %v %v", all, err)
	}
}

// TestPushesFromLoopbackOnly: the repositories take pushes from this machine only; fetches from
// anywhere.
func TestPushesFromLoopbackOnly(t *testing.T) {
	e := newEnv(t)
	e.createRepo()
	h, err := e.srv.Handler(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, remote string
		want         int
	}{
		{"/org/repo.git/info/refs?service=git-receive-pack", "192.0.2.1:5000", http.StatusForbidden},
		{"/org/repo.git/info/refs?service=git-receive-pack", "127.0.0.1:5000", http.StatusOK},
		{"/org/repo.git/info/refs?service=git-upload-pack", "192.0.2.1:5000", http.StatusOK},
	} {
		rec := httptestRecorder(h, tc.path, tc.remote)
		if rec != tc.want {
			t.Errorf("GET %s from %s: %d, want %d", tc.path, tc.remote, rec, tc.want)
		}
	}
	// A push to the repository's path runs its post-receive hook, which names this data dir.
	hookScript := filepath.Join(GitRoot(e.dataDir), "org/repo.git", "hooks", "post-receive")
	out, err := os.ReadFile(hookScript)
	if err != nil || !strings.Contains(string(out), "repo pushed --data-dir \""+e.dataDir+"\" \"org/repo\"") {
		t.Errorf("post-receive hook: %s %v", out, err)
	}
}

// TestBadCredentials: a request without the token is 401, naming where the token is.
func TestBadCredentials(t *testing.T) {
	e := newEnv(t)
	c, err := github.New(github.Options{Endpoint: e.url + APIPath, TokenPath: writeFile(t, "wrong"), Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.IsMember(context.Background(), "org", "alice")
	if !isStatus(err, http.StatusUnauthorized) || !strings.Contains(err.Error(), TokenPath(e.dataDir)) {
		t.Errorf("wrong token: %v, want 401 naming the token file", err)
	}
}

// TestPostReceive: what the repositories' post-receive hook runs reads git's "OLD NEW REF" lines
// and has the running server send the push event; with no server running it says how to start one.
func TestPostReceive(t *testing.T) {
	e := newEnv(t)
	first := e.createRepo()
	second := e.commit("second", map[string]string{"b.sh": "true\n"})
	e.git(e.work, "push", "-q", e.url+"/org/repo.git", "main")
	ctx := context.Background()
	if err := PostReceive(ctx, e.dataDir, "org/repo", "alice", strings.NewReader(first+" "+second+" refs/heads/main\n")); err != nil {
		t.Fatal(err)
	}
	push, ok := e.hook.wait(t, 1)[0].(*gh.PushEvent)
	if !ok || push.GetAfter() != second || len(push.Commits) != 1 || strings.Join(push.Commits[0].Added, ",") != "b.sh" {
		t.Errorf("push event %+v", push)
	}
	if err := PostReceive(ctx, e.dataDir, "org/repo", "alice", strings.NewReader("garbage\n")); err == nil || !strings.Contains(err.Error(), "OLD NEW REF") {
		t.Errorf("a bad line: %v", err)
	}
	other := t.TempDir()
	err := PostReceive(ctx, other, "org/repo", "alice", strings.NewReader(first+" "+second+" refs/heads/main\n"))
	if !errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), "prowl up --data-dir "+other) {
		t.Errorf("with no prowl up: %v, want ErrNotRunning saying how to start it", err)
	}
}

// TestDefaultBranch: a repository's default_branch, in the API and in pull requests, is the branch
// its HEAD names, read afresh when HEAD moves.
func TestDefaultBranch(t *testing.T) {
	e := newEnv(t)
	e.openPull("alice")
	e.git(filepath.Join(GitRoot(e.dataDir), "org/repo.git"), "symbolic-ref", "HEAD", "refs/heads/trunk")
	ctx := context.Background()
	gc := e.client("").GitHub
	repo, _, err := gc.Repositories.Get(ctx, "org", "repo")
	if err != nil || repo.GetDefaultBranch() != "trunk" {
		t.Errorf("repository after HEAD moved to trunk: default branch %q, %v", repo.GetDefaultBranch(), err)
	}
	pr, _, err := gc.PullRequests.Get(ctx, "org", "repo", 1)
	if err != nil || pr.GetBase().GetRepo().GetDefaultBranch() != "trunk" {
		t.Errorf("pull request's base repository: default branch %q, %v", pr.GetBase().GetRepo().GetDefaultBranch(), err)
	}
}
