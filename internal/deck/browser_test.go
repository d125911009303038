package deck

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/github/githubtest"
	"github.com/prowl-ci/prowl/internal/testutil/browsertest"
)

// newBrowser starts the test's own headless Chromium.
func newBrowser(t *testing.T) context.Context { return browsertest.New(t, 1440, 900, 60*time.Second) }

// screenshot saves the page as the test's screenshot.
func screenshot(t *testing.T, ctx context.Context) { browsertest.Screenshot(t, ctx, "") }

// do runs the steps, failing the test at the first error.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// val runs an action that returns a value.
func val[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// realisticJobs are a list in every state, as a front page looks.
func realisticJobs(h *harness) {
	seedJobs(h)
	h.create(job{name: "f-triggered", job: "pull-test-infra-verify", org: "kubernetes", repo: "test-infra", pull: 44, author: "carol", title: "Add a lint for job names", age: 10 * time.Second})
	h.create(job{name: "g-aborted", job: "pull-test-infra-integration", state: prowv1.AbortedState, org: "kubernetes", repo: "test-infra", pull: 40, author: "dave", title: "Bump Go to 1.26", age: 30 * time.Minute, done: 4 * time.Minute})
}

func TestBrowserListShowsEveryState(t *testing.T) {
	h := newHarness(t, setup{})
	realisticJobs(h)
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(h.url+"/"), chromedp.WaitVisible("#pj-f-triggered"), chromedp.WaitVisible("#live.on"))
	states := val(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#rows .badge")).map(b => b.textContent)`))
	for _, want := range jobStates {
		if !strings.Contains(strings.Join(states, ","), want) {
			t.Errorf("no %s row among %v", want, states)
		}
	}
	screenshot(t, ctx)
}

func TestBrowserFilterSurvivesReload(t *testing.T) {
	h := newHarness(t, setup{})
	realisticJobs(h)
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(h.url+"/"), chromedp.WaitVisible("#rows"),
		chromedp.SetValue(`select[name="type"]`, "presubmit"), chromedp.SendKeys(`input[name="author"]`, "alice"),
		chromedp.Click(`#filters button[type="submit"]`), chromedp.WaitVisible(`a.clear`),
		chromedp.Reload(), chromedp.WaitVisible("#pj-b-failure"))
	loc := val(t, ctx, chromedp.Location())
	rows := val(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#rows tr").length`))
	if rows != 1 || !strings.Contains(loc, "author=alice") || !strings.Contains(loc, "type=presubmit") {
		t.Errorf("after reload: %d rows at %s, want 1 row for the filter", rows, loc)
	}
	if author := val(t, ctx, chromedp.Value(`input[name="author"]`)); author != "alice" {
		t.Errorf("the form lost the filter: author %q", author)
	}
	screenshot(t, ctx)
}

func TestBrowserLiveStateChange(t *testing.T) {
	h := newHarness(t, setup{})
	pj := h.create(job{name: "live", job: "ci-kubernetes-e2e", state: prowv1.PendingState, age: time.Minute})
	h.create(job{name: "other", job: "ci-unit", state: prowv1.SuccessState, age: time.Hour, done: time.Minute})
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(h.url+"/"), chromedp.WaitVisible("#pj-live.state-pending"), chromedp.WaitVisible("#live.on"))
	val(t, ctx, chromedp.Evaluate[bool](`(window.notReloaded = true)`))
	pj.Status.State = prowv1.SuccessState
	pj.Status.CompletionTime = &metav1.Time{Time: now}
	if err := env.Client.Status().Update(context.Background(), pj); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.WaitVisible("#pj-live.state-success"))
	if !val(t, ctx, chromedp.Evaluate[bool](`window.notReloaded === true`)) {
		t.Error("the page reloaded instead of updating")
	}
	// A new job appears at the top.
	h.create(job{name: "new", job: "ci-new", state: prowv1.TriggeredState})
	do(t, ctx, chromedp.WaitVisible("#pj-new"))
	if first := val(t, ctx, chromedp.Evaluate[string](`document.querySelector("#rows tr").id`)); first != "pj-new" {
		t.Errorf("the new job is not first: %s", first)
	}
	screenshot(t, ctx)
}

func TestBrowserEscapesPullRequestTitle(t *testing.T) {
	h := newHarness(t, setup{})
	title := `<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">`
	h.create(job{name: "xss", job: "pull-x", org: "kubernetes", repo: "test-infra", pull: 9, author: "mallory", title: title})
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(h.url+"/"), chromedp.WaitVisible("#pj-xss"))
	shown := val(t, ctx, chromedp.TextContent("#pj-xss .title"))
	pwned := val(t, ctx, chromedp.Evaluate[bool](`window.pwned !== undefined`))
	if shown != title || pwned {
		t.Errorf("title shown as %q (pwned %v), want the text itself", shown, pwned)
	}
	screenshot(t, ctx)
}

// browserLogin logs in through the fake GitHub's pages.
func browserLogin(t *testing.T, ctx context.Context, h *harness, user string) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(h.url+"/"), chromedp.Click("#login"), chromedp.WaitVisible("#login_field"),
		chromedp.SendKeys("#login_field", user), chromedp.Click("#authorize"), chromedp.WaitVisible(".user"))
}

func TestBrowserLoginAndRerun(t *testing.T) {
	h := newHarness(t, setup{login: true, rerun: true, deck: "  rerun_auth_configs:\n    kubernetes: {github_users: [alice]}\n"})
	h.create(job{name: "orig", job: "pull-test-infra-unit", state: prowv1.FailureState, org: "kubernetes", repo: "test-infra", pull: 12, author: "bob", title: "Fix flaky test", age: time.Hour, done: 5 * time.Minute})
	ctx := newBrowser(t)
	browserLogin(t, ctx, h, "alice")
	if who := val(t, ctx, chromedp.Text(".user")); who != "Logged in as alice" {
		t.Errorf("header says %q", who)
	}
	do(t, ctx, chromedp.WaitVisible("#live.on"), chromedp.Click(`#pj-orig button.rerun`), chromedp.WaitVisible("#rows tr:nth-child(2)"))
	rows := val(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#rows tr").length`))
	if rows != 2 || len(h.runsOf("pull-test-infra-unit")) != 2 {
		t.Errorf("%d rows, %d runs after the rerun; want 2", rows, len(h.runsOf("pull-test-infra-unit")))
	}
	screenshot(t, ctx)
}

func TestBrowserRefusal(t *testing.T) {
	h := newHarness(t, setup{login: true, rerun: true, deck: "  rerun_auth_configs:\n    kubernetes: {github_users: [alice]}\n"})
	h.create(job{name: "orig", job: "pull-test-infra-unit", state: prowv1.FailureState, org: "kubernetes", repo: "test-infra", pull: 12, author: "bob", age: time.Hour, done: 5 * time.Minute})
	h.gh.SetPullRequest("kubernetes/test-infra", githubtest.PullRequest{Number: 12, Author: "bob", HeadSHA: "def", BaseRef: "main"})
	ctx := newBrowser(t)
	browserLogin(t, ctx, h, "mallory")
	do(t, ctx, chromedp.Click(`#pj-orig button.rerun`), chromedp.WaitVisible("#message"))
	if msg := val(t, ctx, chromedp.Text("#message")); !strings.Contains(msg, "mallory may not rerun or abort pull-test-infra-unit") {
		t.Errorf("refusal says %q", msg)
	}
	if n := len(h.runsOf("pull-test-infra-unit")); n != 1 {
		t.Errorf("%d runs after a refusal", n)
	}
	screenshot(t, ctx)
}

func TestBrowserAbortInLocalMode(t *testing.T) {
	h := newHarness(t, setup{local: true, rerun: true})
	h.create(job{name: "running", job: "ci-kubernetes-e2e-gce", state: prowv1.PendingState, age: 7 * time.Minute})
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(h.url+"/"), chromedp.WaitVisible("#live.on"))
	if note := val(t, ctx, chromedp.Text("#local-mode")); !strings.Contains(note, "Local mode") {
		t.Errorf("the page does not say it is in local mode: %q", note)
	}
	do(t, ctx, chromedp.Click(`#pj-running button.abort`), chromedp.WaitVisible("#pj-running.state-aborted"))
	screenshot(t, ctx)
}
