package forge

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gh "github.com/google/go-github/v82/github"

	"github.com/prowl-ci/prowl/internal/github"
)

func httptestRecorder(h http.Handler, path, remote string) int {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// openPull makes org/repo with a pull request #1 by author.
func (e *env) openPull(author string) string {
	e.t.Helper()
	e.createRepo()
	head := e.branch("feature", map[string]string{"a.txt": "a\n"})
	_, _, err := e.client(author).GitHub.PullRequests.Create(context.Background(), "org", "repo", &gh.NewPullRequest{Head: gh.Ptr("feature"), Base: gh.Ptr("main")})
	if err != nil {
		e.t.Fatal(err)
	}
	return head
}

// TestCommentsLabelsStatuses: what Trigger and Crier do through Prowl's client: comment, list,
// edit and delete comments; add and remove labels; post statuses, which go-github lists and
// combines as GitHub does. Comments and labels send their webhooks.
func TestCommentsLabelsStatuses(t *testing.T) {
	e := newEnv(t)
	head := e.openPull("alice")
	ctx := context.Background()
	pc := e.prowlClient()
	if err := pc.CreateComment(ctx, "org", "repo", 1, "bot says"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.client("bob").GitHub.Issues.CreateComment(ctx, "org", "repo", 1, &gh.IssueComment{Body: gh.Ptr("/test all")}); err != nil {
		t.Fatal(err)
	}
	comments, err := pc.ListComments(ctx, "org", "repo", 1)
	if err != nil || len(comments) != 2 || comments[0].User != DefaultBot || comments[1].User != "bob" || comments[1].Body != "/test all" {
		t.Fatalf("comments %+v %v", comments, err)
	}
	if err := pc.EditComment(ctx, "org", "repo", comments[0].ID, "edited"); err != nil {
		t.Fatal(err)
	}
	if err := pc.DeleteComment(ctx, "org", "repo", comments[1].ID); err != nil {
		t.Fatal(err)
	}
	if err := pc.DeleteComment(ctx, "org", "repo", comments[1].ID); !isStatus(err, http.StatusNotFound) {
		t.Errorf("deleting it again: %v, want 404", err)
	}
	comments, _ = pc.ListComments(ctx, "org", "repo", 1)
	if len(comments) != 1 || comments[0].Body != "edited" {
		t.Errorf("after edit and delete: %+v", comments)
	}
	if err := pc.AddLabel(ctx, "org", "repo", 1, "ok-to-test"); err != nil {
		t.Fatal(err)
	}
	if err := pc.RemoveLabel(ctx, "org", "repo", 1, "needs-ok-to-test"); err != nil {
		t.Errorf("removing a label that is not there: %v, want no error", err)
	}
	events := e.hook.wait(t, 4) // opened, two comments, labeled
	if c, ok := events[2].(*gh.IssueCommentEvent); !ok || c.GetAction() != "created" || c.GetComment().GetBody() != "/test all" ||
		!c.GetIssue().IsPullRequest() || c.GetIssue().GetNumber() != 1 || c.GetComment().GetUser().GetLogin() != "bob" {
		t.Errorf("issue_comment event %+v", events[2])
	}
	if l, ok := events[3].(*gh.PullRequestEvent); !ok || l.GetAction() != "labeled" || l.GetLabel().GetName() != "ok-to-test" || l.GetSender().GetLogin() != DefaultBot {
		t.Errorf("labeled event %+v", events[3])
	}
	for _, s := range []github.Status{{State: "pending", Context: "pull-a"}, {State: "pending", Context: "pull-b"}, {State: "success", Context: "pull-a", TargetURL: "http://deck/view/1"}} {
		if err := pc.CreateStatus(ctx, "org", "repo", head, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := pc.CreateStatus(ctx, "org", "repo", head, github.Status{State: "done", Context: "x"}); !isStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("state done: %v, want 422", err)
	}
	if err := pc.CreateStatus(ctx, "org", "repo", strings.Repeat("ab", 20), github.Status{State: "success", Context: "x"}); !isStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("status on an unknown commit: %v, want 422", err)
	}
	gc := e.client("").GitHub
	combined, _, err := gc.Repositories.GetCombinedStatus(ctx, "org", "repo", "feature", nil)
	if err != nil || combined.GetState() != "pending" || combined.GetTotalCount() != 2 || combined.GetSHA() != head {
		t.Errorf("combined status %+v %v, want pending of 2 on %s", combined, err, head)
	}
	if err := pc.CreateStatus(ctx, "org", "repo", head, github.Status{State: "failure", Context: "pull-b"}); err != nil {
		t.Fatal(err)
	}
	combined, _, _ = gc.Repositories.GetCombinedStatus(ctx, "org", "repo", head, nil)
	listed, _, err := gc.Repositories.ListStatuses(ctx, "org", "repo", head, nil)
	if combined.GetState() != "failure" || err != nil || len(listed) != 4 || listed[0].GetState() != "failure" || listed[1].GetTargetURL() != "http://deck/view/1" {
		t.Errorf("after a failure: combined %s, listed %v %v", combined.GetState(), listed, err)
	}
}

// TestMembersFile: members.yaml decides org membership and collaborators, read on every question;
// a broken file is a 500 that names it.
func TestMembersFile(t *testing.T) {
	e := newEnv(t)
	e.createRepo()
	ctx := context.Background()
	pc := e.prowlClient()
	check := func(org, repo, user string, member, collab bool) {
		t.Helper()
		m, err := pc.IsMember(ctx, org, user)
		c, err2 := pc.IsCollaborator(ctx, org, repo, user)
		if err != nil || err2 != nil || m != member || c != collab {
			t.Errorf("%s in %s/%s: member %v collaborator %v (%v %v), want %v %v", user, org, repo, m, c, err, err2, member, collab)
		}
	}
	check("org", "repo", "alice", true, true) // seeded
	check("org", "repo", "mallory", false, false)
	if err := os.WriteFile(MembersPath(e.dataDir), []byte("org: [alice]\norg/repo: [carol]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("org", "repo", "carol", false, true)
	if err := os.WriteFile(MembersPath(e.dataDir), []byte("org: alice\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.IsMember(ctx, "org", "alice"); err == nil || !strings.Contains(err.Error(), MembersPath(e.dataDir)) {
		t.Errorf("a broken members file: %v, want an error naming it", err)
	}
}

// TestStateSurvivesRestart: a second server on the same data dir serves the pull request, its
// labels, comments and statuses, and numbers the next ones after them.
func TestStateSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	head := e.openPull("alice")
	ctx := context.Background()
	pc := e.prowlClient()
	if err := pc.CreateComment(ctx, "org", "repo", 1, "kept"); err != nil {
		t.Fatal(err)
	}
	if err := pc.AddLabel(ctx, "org", "repo", 1, "lgtm"); err != nil {
		t.Fatal(err)
	}
	if err := pc.CreateStatus(ctx, "org", "repo", head, github.Status{State: "success", Context: "pull-a"}); err != nil {
		t.Fatal(err)
	}
	again, err := Open(ctx, Options{DataDir: e.dataDir, URL: e.url, Self: "/bin/true"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := again.Handler(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	defer hs.Close()
	c, err := github.New(github.Options{Endpoint: hs.URL + APIPath, TokenPath: TokenPath(e.dataDir), Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := c.PullRequest(ctx, "org", "repo", 1)
	if err != nil || pr.GetHead().GetSHA() != head || len(pr.Labels) != 1 || pr.Labels[0].GetName() != "lgtm" {
		t.Errorf("after a restart: %+v %v", pr, err)
	}
	comments, err := c.ListComments(ctx, "org", "repo", 1)
	if err != nil || len(comments) != 1 || comments[0].Body != "kept" {
		t.Errorf("comments after a restart: %+v %v", comments, err)
	}
	if err := c.CreateComment(ctx, "org", "repo", 1, "next"); err != nil {
		t.Fatal(err)
	}
	comments, _ = c.ListComments(ctx, "org", "repo", 1)
	if len(comments) != 2 || comments[1].ID <= comments[0].ID {
		t.Errorf("the next comment's ID follows the kept one's: %+v", comments)
	}
	if _, err := os.Stat(filepath.Join(e.dataDir, "forge", "state.json")); err != nil {
		t.Errorf("state file: %v", err)
	}
}

// TestBrokenStateFile: a state file that is not JSON stops Open with a message naming it.
func TestBrokenStateFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "forge"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "forge", "state.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), Options{DataDir: dir, URL: "http://127.0.0.1:1"})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "forge", "state.json")) || !strings.Contains(err.Error(), "move it away") {
		t.Errorf("Open with a broken state file: %v", err)
	}
}

// TestWebhookNotDelivered: with Hook down, a change is still made and the caller is told that its
// event was not delivered.
func TestWebhookNotDelivered(t *testing.T) {
	e := newEnv(t)
	e.openPull("alice")
	e.srv.SetHook("http://127.0.0.1:1/hook")
	_, resp, err := e.client("bob").GitHub.Issues.CreateComment(context.Background(), "org", "repo", 1, &gh.IssueComment{Body: gh.Ptr("hi")})
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckWebhook(resp); err == nil || !strings.Contains(err.Error(), "issue_comment") {
		t.Errorf("CheckWebhook: %v, want the undelivered issue_comment", err)
	}
	comments, _ := e.prowlClient().ListComments(context.Background(), "org", "repo", 1)
	if len(comments) != 1 {
		t.Errorf("the comment was not kept: %+v", comments)
	}
}
