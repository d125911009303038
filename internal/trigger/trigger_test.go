package trigger

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/github/githubtest"
	"github.com/prowl-ci/prowl/internal/jobs"
	"github.com/prowl-ci/prowl/internal/testutil"
)

const headSHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"

// Every pull_request payload of the corpus, from a trusted author and from an untrusted one.
func TestPullRequestPayloads(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(testutil.SharedTestdata(t, "webhooks", "octokit", "pull_request") + "/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no payloads: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		action := name[:strings.LastIndex(name, "_")]
		var want []string
		switch action {
		case "opened", "reopened", "ready_for_review", "synchronize":
			want = []string{"code-only", "unit"} // README.md changed, base master
		}
		t.Run(name+"/trusted", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.gh.AddMember("Codertocat", "Codertocat")
			if err := h.send("pull_request", payload(t, "octokit/pull_request/"+filepath.Base(f), nil)); err != nil {
				t.Fatal(err)
			}
			if got := h.jobs(); !equal(got, want) {
				t.Fatalf("ProwJobs %v, want %v", got, want)
			}
			for _, pj := range h.prowJobs() {
				r := pj.Spec.Refs
				if pj.Spec.Type != prowv1.PresubmitJob || r.Org != "Codertocat" || r.Repo != "Hello-World" || r.BaseRef != "master" ||
					len(r.Pulls) != 1 || r.Pulls[0].Number != 2 || r.Pulls[0].SHA != headSHA || r.Pulls[0].Author != "Codertocat" ||
					pj.Labels[prowv1.PullLabel] != "2" || pj.Labels[prowv1.TypeLabel] != "presubmit" || pj.Status.State != prowv1.TriggeredState {
					t.Errorf("ProwJob %s: %+v labels %v", pj.Spec.Job, r, pj.Labels)
				}
			}
		})
		t.Run(name+"/untrusted", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			if err := h.send("pull_request", payload(t, "octokit/pull_request/"+filepath.Base(f), nil)); err != nil {
				t.Fatal(err)
			}
			if got := h.jobs(); len(got) != 0 {
				t.Fatalf("an untrusted author's %s started %v", action, got)
			}
			comments := h.gh.Comments("Codertocat/Hello-World", 2)
			asks := action == "opened" || action == "reopened" || action == "ready_for_review"
			if asks != (len(comments) == 1) || (asks && !strings.Contains(comments[0].Body, "/ok-to-test")) {
				t.Errorf("comments %+v", comments)
			}
			if asks != strings.Contains(strings.Join(h.gh.Labels("Codertocat/Hello-World", 2), ","), NeedsOkToTestLabel) {
				t.Errorf("labels %v", h.gh.Labels("Codertocat/Hello-World", 2))
			}
		})
	}
	// Prow's own example: a reopened test-infra pull request, where only org members are trusted.
	for _, tc := range []struct {
		name   string
		member bool
		want   []string
	}{{"member", true, []string{"pull-test-infra"}}, {"collaborator only", false, nil}} {
		t.Run("prow-phony/reopened_pr/"+tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.gh.AddCollaborator("kubernetes/test-infra", "spxtr")
			if tc.member {
				h.gh.AddMember("kubernetes", "spxtr")
			}
			if err := h.send("pull_request", payload(t, "prow-phony/reopened_pr.json", nil)); err != nil {
				t.Fatal(err)
			}
			if got := h.jobs(); !equal(got, tc.want) {
				t.Fatalf("ProwJobs %v, want %v", got, tc.want)
			}
			if !tc.member {
				if c := h.gh.Comments("kubernetes/test-infra", 947); len(c) != 1 || !strings.Contains(c[0].Body, "https://example.com/join") {
					t.Errorf("comments %+v: want one asking for /ok-to-test, with the join link", c)
				}
			}
		})
	}
}

func TestPullRequestPaths(t *testing.T) {
	t.Parallel()
	t.Run("changed files decide run_if_changed and skip_if_only_changed, fetched once", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.gh.AddCollaborator("Codertocat/Hello-World", "Codertocat")
		h.gh.SetPullRequest("Codertocat/Hello-World", githubPR(headSHA, "docs/guide.md", "docs/index.md"))
		if err := h.send("pull_request", payload(t, "octokit/pull_request/opened_1.json", nil)); err != nil {
			t.Fatal(err)
		}
		if got, want := h.jobs(), []string{"docs", "unit"}; !equal(got, want) {
			t.Errorf("ProwJobs %v, want %v", got, want)
		}
		if n := countCalls(h, "/repos/Codertocat/Hello-World/pulls/2/files"); n != 1 {
			t.Errorf("the files were fetched %d times", n)
		}
	})
	t.Run("a draft starts nothing; ready_for_review starts it", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.gh.AddMember("Codertocat", "Codertocat")
		if err := h.send("pull_request", payload(t, "octokit/pull_request/opened_1.json", map[string]any{"pull_request.draft": true})); err != nil {
			t.Fatal(err)
		}
		if got := h.jobs(); len(got) != 0 {
			t.Fatalf("a draft started %v", got)
		}
		// Neither a draft nor a label other than ok-to-test can start anything: no GET of the
		// pull request to learn whether the event is stale.
		if err := h.send("pull_request", payload(t, "octokit/pull_request/labeled_1.json", map[string]any{"label.name": "lgtm"})); err != nil {
			t.Fatal(err)
		}
		if n := countCalls(h, "/repos/Codertocat/Hello-World/pulls/2"); n != 0 {
			t.Errorf("a draft and an lgtm label asked GitHub for the pull request %d times, want 0", n)
		}
		if err := h.send("pull_request", payload(t, "octokit/pull_request/ready_for_review_1.json", nil)); err != nil {
			t.Fatal(err)
		}
		if got := h.jobs(); len(got) != 2 {
			t.Errorf("ready_for_review started %v", got)
		}
	})
	t.Run("synchronize aborts the jobs of older commits; closed aborts the rest", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.gh.AddMember("Codertocat", "Codertocat")
		h.gh.SetPullRequest("Codertocat/Hello-World", githubPR("0ld", "README.md")) // as GitHub has it when opened
		if err := h.send("pull_request", payload(t, "octokit/pull_request/opened_1.json", map[string]any{"pull_request.head.sha": "0ld"})); err != nil {
			t.Fatal(err)
		}
		h.gh.SetPullRequest("Codertocat/Hello-World", githubPR("ec26c3e57ca3a959ca5aad62de7213c562f8c821", "README.md")) // pushed to
		if err := h.send("pull_request", payload(t, "octokit/pull_request/synchronize_1.json", nil)); err != nil {
			t.Fatal(err)
		}
		for _, pj := range h.prowJobs() {
			old := pj.Spec.Refs.Pulls[0].SHA == "0ld"
			if old != (pj.Status.State == prowv1.AbortedState) {
				t.Errorf("%s at %s is %s", pj.Spec.Job, pj.Spec.Refs.Pulls[0].SHA, pj.Status.State)
			}
		}
		if got := h.jobs(prowv1.TriggeredState); len(got) != 2 {
			t.Errorf("triggered for the new head: %v", got)
		}
		if err := h.send("pull_request", payload(t, "octokit/pull_request/closed_1.json", nil)); err != nil {
			t.Fatal(err)
		}
		if got := h.jobs(prowv1.AbortedState); len(got) != 4 {
			t.Errorf("after closing, aborted: %v, want all 4", got)
		}
	})
	t.Run("labeled ok-to-test by a trusted user runs an untrusted author's pull request", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.gh.AddMember("Codertocat", "maintainer")
		h.gh.SetLabels("Codertocat/Hello-World", 2, NeedsOkToTestLabel)
		labeled := func(sender string) []byte {
			return payload(t, "octokit/pull_request/labeled_1.json", map[string]any{"label.name": OkToTestLabel, "sender.login": sender,
				"pull_request.labels": []any{map[string]any{"name": OkToTestLabel}}})
		}
		if err := h.send("pull_request", labeled("stranger")); err != nil {
			t.Fatal(err)
		}
		if got := h.jobs(); len(got) != 0 {
			t.Fatalf("labeled by an untrusted user: %v", got)
		}
		if err := h.send("pull_request", labeled("maintainer")); err != nil {
			t.Fatal(err)
		}
		if got, want := h.jobs(), []string{"code-only", "unit"}; !equal(got, want) {
			t.Errorf("ProwJobs %v, want %v", got, want)
		}
		if labels := h.gh.Labels("Codertocat/Hello-World", 2); len(labels) != 0 {
			t.Errorf("needs-ok-to-test stays: %v", labels)
		}
		// The same label again (another delivery) does not start the running jobs twice.
		if err := h.send("pull_request", labeled("maintainer")); err != nil {
			t.Fatal(err)
		}
		if got := h.jobs(); len(got) != 2 {
			t.Errorf("ProwJobs after a second label event: %v", got)
		}
	})
	t.Run("an untrusted pull request is asked once", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		if err := h.send("pull_request", payload(t, "octokit/pull_request/opened_1.json", map[string]any{
			"pull_request.labels": []any{map[string]any{"name": NeedsOkToTestLabel}}})); err != nil {
			t.Fatal(err)
		}
		if c := h.gh.Comments("Codertocat/Hello-World", 2); len(c) != 0 {
			t.Errorf("asked again: %+v", c)
		}
	})
}

func githubPR(sha string, files ...string) githubtest.PullRequest {
	return githubtest.PullRequest{Number: 2, Author: "Codertocat", HeadSHA: sha, HeadRef: "changes", BaseRef: "master",
		BaseSHA: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", Files: files}
}

func countCalls(h *harness, path string) int {
	n := 0
	for _, c := range h.gh.Calls() {
		if c.Path == path {
			n++
		}
	}
	return n
}

// comment is an issue_comment on pull request 2 by user.
func comment(t *testing.T, user, body string) []byte { return commentOn(t, 2, user, body) }

// commentOn is a comment by user on pull request number of Codertocat/Hello-World.
func commentOn(t *testing.T, number int, user, body string) []byte {
	return payload(t, "octokit/issue_comment/created_1.json", map[string]any{
		"issue.number": number, "issue.pull_request": map[string]any{"url": fmt.Sprintf("https://api.github.com/repos/Codertocat/Hello-World/pulls/%d", number)},
		"comment.body": body, "comment.user.login": user, "sender.login": user,
	})
}

func TestComments(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, user, body string
		trusted          bool     // the commenter is an org member
		okToTest         bool     // the pull request has the ok-to-test label
		want             []string // ProwJobs
		reply            string   // in the one reply, when one is expected
	}{
		{name: "/test a job", user: "m", body: "/test manual", trusted: true, want: []string{"manual"}},
		{name: "/test a job in prose", user: "m", body: "Flaky?\n/test manual\nthanks", trusted: true, want: []string{"manual"}},
		{name: "/test all", user: "m", body: "/test all", trusted: true, want: []string{"code-only", "manual", "unit"}},
		{name: "/test ?", user: "m", body: "/test ?", trusted: true, reply: "* `/test manual`"},
		{name: "/test an unknown job", user: "m", body: "/test nothing", trusted: true, reply: "were not found"},
		{name: "a job on another branch", user: "m", body: "/test release-only", trusted: true, reply: "were not found"},
		{name: "in a code block", user: "m", body: "```\n/test manual\n```", trusted: true},
		{name: "inline code", user: "m", body: "try `/test manual`", trusted: true},
		{name: "untrusted user, untrusted pull request", user: "stranger", body: "/test all", reply: "Cannot trigger testing"},
		{name: "untrusted user, ok-to-test pull request", user: "stranger", body: "/test manual", okToTest: true, want: []string{"manual"}},
		{name: "/ok-to-test by a member", user: "m", body: "/ok-to-test", trusted: true, want: []string{"code-only", "unit"}},
		{name: "/ok-to-test by a stranger", user: "stranger", body: "/ok-to-test", reply: "Cannot trigger testing"},
		{name: "/retest with nothing run yet", user: "m", body: "/retest", trusted: true, want: []string{"code-only", "unit"}},
		{name: "not a command", user: "m", body: "LGTM, /test manual later", trusted: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			if tc.trusted {
				h.gh.AddMember("Codertocat", tc.user)
			}
			if tc.okToTest {
				h.gh.SetLabels("Codertocat/Hello-World", 2, OkToTestLabel)
			}
			if err := h.send("issue_comment", comment(t, tc.user, tc.body)); err != nil {
				t.Fatal(err)
			}
			if got := h.jobs(); !equal(got, tc.want) {
				t.Errorf("ProwJobs %v, want %v", got, tc.want)
			}
			comments := h.gh.Comments("Codertocat/Hello-World", 2)
			if tc.reply == "" && len(comments) > 0 {
				t.Errorf("unexpected replies %+v", comments)
			}
			if tc.reply != "" && (len(comments) != 1 || !strings.Contains(comments[0].Body, tc.reply) || !strings.HasPrefix(comments[0].Body, "@"+tc.user)) {
				t.Errorf("replies %+v, want one with %q", comments, tc.reply)
			}
			if tc.name == "/ok-to-test by a member" {
				if labels := h.gh.Labels("Codertocat/Hello-World", 2); len(labels) != 1 || labels[0] != OkToTestLabel {
					t.Errorf("labels %v", labels)
				}
			}
		})
	}
	t.Run("/retest reruns what failed and what never ran", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.gh.AddMember("Codertocat", "m")
		// unit passed and docs failed on the head; code-only failed on an older commit only.
		ctx := context.Background()
		for _, r := range []struct {
			job, sha string
			state    prowv1.ProwJobState
		}{{"unit", headSHA, prowv1.SuccessState}, {"manual", headSHA, prowv1.FailureState}, {"code-only", "0ld", prowv1.FailureState}} {
			var job = h.cfg.PresubmitsStatic["Codertocat/Hello-World"]
			for i := range job {
				if job[i].Name != r.job {
					continue
				}
				pj := jobs.NewBuilder(h.cfg).Presubmit(&job[i], prowv1.Refs{Org: "Codertocat", Repo: "Hello-World", BaseRef: "master", BaseSHA: "b",
					Pulls: []prowv1.Pull{{Number: 2, SHA: r.sha, Author: "Codertocat"}}})
				pj.Status.State, pj.Status.CompletionTime = r.state, &metav1.Time{Time: pj.Status.StartTime.Time}
				if err := jobs.Create(ctx, env.Client, pj); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := h.send("issue_comment", comment(t, "m", "/retest")); err != nil {
			t.Fatal(err)
		}
		// code-only never ran on the head. manual failed but runs only when asked: /retest
		// reruns the jobs that would run on their own.
		if got := h.jobs(prowv1.TriggeredState); !equal(got, []string{"code-only"}) {
			t.Errorf("/retest started %v, want [code-only]", got)
		}
	})
}

func TestPush(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"octokit/push/none_1.json", nil}, // a tag
		{"octokit/push/none_2.json", nil}, // a deleted tag
		{"octokit/push/none_3.json", nil},
		{"octokit/push/none_4.json", nil},
		{"octokit/push/none_5.json", []string{"post-readme", "post-unit"}}, // master, README.md added
		{"octokit/push/none_6.json", []string{"post-readme", "post-unit"}},
		{"octokit/push/none_7.json", nil},
		{"prow-phony/push.json", []string{"post-prow"}}, // kubernetes/test-infra, prow/ changed
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			raw, err := os.ReadFile(testutil.SharedTestdata(t, "webhooks", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if err := h.send("push", raw); err != nil {
				t.Fatal(err)
			}
			if got := h.jobs(); !equal(got, tc.want) {
				t.Fatalf("ProwJobs %v, want %v", got, tc.want)
			}
			for _, pj := range h.prowJobs() {
				if pj.Spec.Type != prowv1.PostsubmitJob || pj.Spec.Refs.BaseRef != "master" || pj.Spec.Refs.BaseSHA == "" || len(pj.Spec.Refs.Pulls) != 0 {
					t.Errorf("ProwJob %s: %+v", pj.Spec.Job, pj.Spec.Refs)
				}
			}
		})
	}
	t.Run("a branch deletion", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		if err := h.send("push", payload(t, "octokit/push/none_5.json", map[string]any{"deleted": true, "after": "0000000000000000000000000000000000000000"})); err != nil {
			t.Fatal(err)
		}
		if got := h.jobs(); len(got) != 0 {
			t.Errorf("a deletion started %v", got)
		}
	})
}

// A redelivered event (GitHub's "Redeliver", or the same event handled again after a failure)
// creates each ProwJob once.
func TestOncePerDelivery(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.gh.AddMember("Codertocat", "Codertocat")
	body := payload(t, "octokit/pull_request/opened_1.json", nil)
	if err := h.sendAs("pull_request", "same-delivery", body); err != nil {
		t.Fatal(err)
	}
	// Hook drops the redelivery; Trigger, handed it again anyway, creates nothing new.
	if err := h.sendAs("pull_request", "same-delivery", body); err != nil {
		t.Fatal(err)
	}
	if err := h.trig.Handle(context.Background(), "pull_request", "same-delivery", body); err != nil {
		t.Fatal(err)
	}
	if got := h.jobs(); len(got) != 2 {
		t.Errorf("ProwJobs %v, want unit and code-only once", got)
	}
}

// Every issue_comment payload of the corpus: none is a trigger command on a pull request (the
// octokit ones are on issues, Prow's are /lgtm and /area), so none starts a job or gets a reply.
func TestCommentPayloads(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(testutil.SharedTestdata(t, "webhooks", "octokit", "issue_comment") + "/*.json")
	files = append(files, testutil.SharedTestdata(t, "webhooks", "prow-phony", "lgtm_comment.json"), testutil.SharedTestdata(t, "webhooks", "prow-phony", "test_comment.json"))
	h := newHarness(t)
	h.gh.AddMember("Codertocat", "Codertocat")
	h.gh.AddMember("kubernetes", "spxtr")
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.send("issue_comment", raw); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if got := h.jobs(); len(got) != 0 {
		t.Errorf("comments started %v", got)
	}
	if calls := h.gh.Calls(); len(calls) != 0 {
		t.Errorf("comments without commands called GitHub: %+v", calls)
	}
}

// A create the API server refuses for a while (here: the first two attempts fail as a server
// error) is retried with backoff, and the job is created once.
func TestCreateRetries(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.gh.AddMember("Codertocat", "Codertocat")
	var attempts atomic.Int32
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	h.trig.Client = interceptor.NewClient(wc, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if _, ok := obj.(*prowv1.ProwJob); ok && attempts.Add(1) <= 2 {
				return apierrors.NewInternalError(errors.New("etcd is busy"))
			}
			return c.Create(ctx, obj, opts...)
		},
	})
	h.trig.Backoff = wait.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 5}
	if err := h.send("pull_request", payload(t, "octokit/pull_request/opened_1.json", nil)); err != nil {
		t.Fatal(err)
	}
	if got := h.jobs(); len(got) != 2 || attempts.Load() != 4 {
		t.Errorf("ProwJobs %v after %d attempts; want unit and code-only after 2 failures", got, attempts.Load())
	}
}
