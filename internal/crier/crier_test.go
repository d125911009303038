package crier

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/github"
	"github.com/prowl-ci/prowl/internal/github/githubtest"
	"github.com/prowl-ci/prowl/internal/jobs"
	"github.com/prowl-ci/prowl/internal/testutil"
	"github.com/prowl-ci/prowl/internal/testutil/seedconfig"
)

var env *testutil.Env

func TestMain(m *testing.M) {
	ctrl.SetLogger(logr.Discard())
	os.Exit(testutil.RunWithEnv(m, &env))
}

const testJobs = `presubmits:
  org/repo:
  - name: unit
    always_run: true
    decorate: true
    spec: {containers: [{image: alpine, command: ["true"]}]}
  - name: lint
    always_run: true
    decorate: true
    spec: {containers: [{image: alpine, command: ["true"]}]}
  - name: quiet
    always_run: true
    skip_report: true
    decorate: true
    spec: {containers: [{image: alpine, command: ["true"]}]}
postsubmits:
  org/repo:
  - name: post
    decorate: true
    spec: {containers: [{image: alpine, command: ["true"]}]}
`

type harness struct {
	t    *testing.T
	ns   string
	cfg  *config.Config
	gh   *githubtest.Server
	logs *logLines
}

// logLines records what Crier logs, to wait on what it did.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(_, args string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, args)
}

// waitFor waits until a line holds every one of parts.
func (l *logLines) waitFor(t *testing.T, parts ...string) {
	t.Helper()
	found := func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, line := range l.lines {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(line, p)
			}
			if all {
				return true
			}
		}
		return false
	}
	if err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 15*time.Second, true, func(context.Context) (bool, error) { return found(), nil }); err != nil {
		t.Fatalf("Crier never logged a line with %q", parts)
	}
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ns := env.Namespace(t, "crier")
	h := &harness{t: t, ns: ns, cfg: seedconfig.Load(t, ns, "", testJobs), gh: githubtest.New(t), logs: &logLines{}}
	h.gh.AddToken("tok")
	tokenPath := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenPath, []byte("tok"), 0o600); err != nil {
		t.Fatal(err)
	}
	ghc, err := github.New(github.Options{Endpoint: h.gh.URL, TokenPath: tokenPath, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Logger:     funcr.New(h.logs.add, funcr.Options{Verbosity: 1}),
		Cache:      cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
		Controller: ctrlconfig.Controller{SkipNameValidation: ptr.To(true)}}) // a manager per test
	if err != nil {
		t.Fatal(err)
	}
	r := &Reporter{GitHub: ghc, Client: mgr.GetClient(), Config: func() *config.Config { return h.cfg }}
	if err := r.Setup(mgr, 4); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = mgr.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

func (h *harness) job(name, sha string) *prowv1.ProwJob {
	h.t.Helper()
	refs := prowv1.Refs{Org: "org", Repo: "repo", BaseRef: "main", BaseSHA: "base0000", Pulls: []prowv1.Pull{{Number: 7, SHA: sha, Author: "alice"}}}
	for i, p := range h.cfg.PresubmitsStatic["org/repo"] {
		if p.Name == name {
			pj := jobs.NewBuilder(h.cfg).Presubmit(&h.cfg.PresubmitsStatic["org/repo"][i], refs)
			if err := jobs.Create(context.Background(), env.Client, pj); err != nil {
				h.t.Fatal(err)
			}
			return pj
		}
	}
	if p := h.cfg.PostsubmitsStatic["org/repo"]; len(p) > 0 && name == "post" {
		refs.Pulls = nil
		pj := jobs.NewBuilder(h.cfg).Postsubmit(&p[0], refs)
		if err := jobs.Create(context.Background(), env.Client, pj); err != nil {
			h.t.Fatal(err)
		}
		return pj
	}
	h.t.Fatalf("no job %s", name)
	return nil
}

// buildIDs numbers the runs set moves, in order.
var buildIDs atomic.Uint64

// set moves a ProwJob to state, as Plank would.
func (h *harness) set(pj *prowv1.ProwJob, state prowv1.ProwJobState, url string) {
	h.t.Helper()
	ctx := context.Background()
	err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(pj), pj); err != nil {
			return false, err
		}
		pj.Status.State, pj.Status.URL, pj.Status.Description = state, url, ""
		if pj.Status.BuildID == "" {
			// Plank gives every run a build ID that grows with time; it orders runs that
			// started in the same second (start times are stored to the second).
			pj.Status.BuildID = strconv.FormatUint(buildIDs.Add(1), 10)
		}
		if state != prowv1.TriggeredState && state != prowv1.PendingState {
			pj.Status.CompletionTime = &metav1.Time{Time: time.Now()}
		}
		return env.Client.Status().Update(ctx, pj) == nil, nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// waitStatuses waits until n statuses were posted, then until Crier has seen the latest version
// of every reportable ProwJob and found nothing more to report: any extra status would have been
// posted by then.
func (h *harness) waitStatuses(n int) []githubtest.Status {
	h.t.Helper()
	ctx := context.Background()
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 15*time.Second, true, func(context.Context) (bool, error) {
		return len(h.gh.Statuses("org/repo")) >= n, nil
	}); err != nil {
		h.t.Fatalf("%d statuses, want %d: %+v", len(h.gh.Statuses("org/repo")), n, h.gh.Statuses("org/repo"))
	}
	var list prowv1.ProwJobList
	var settled bool
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 15*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := env.Client.List(ctx, &list, client.InNamespace(h.ns)); err != nil {
			return false, err
		}
		settled = true
		for _, pj := range list.Items {
			settled = settled && (!reportable(&pj) || pj.Status.PrevReportStates[ReporterName] == pj.Status.State)
		}
		return settled, nil
	}); err != nil {
		h.t.Fatalf("Crier never recorded its reports: %v", err)
	}
	for _, pj := range list.Items {
		if reportable(&pj) {
			h.logs.waitFor(h.t, `"state already reported"`, `"prowjob"="`+pj.Name+`"`, `"resourceVersion"="`+pj.ResourceVersion+`"`)
		}
	}
	return h.gh.Statuses("org/repo")
}

func TestStatusesInOrderOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pj := h.job("unit", "head1")
	h.waitStatuses(1)
	h.set(pj, prowv1.PendingState, "https://prow.example.com/view/1")
	h.waitStatuses(2)
	// An update that leaves the state as it was (here: the URL) reaches Crier but is not reported.
	h.set(pj, prowv1.PendingState, "https://prow.example.com/view/1?again")
	h.logs.waitFor(t, `"state already reported"`, `"prowjob"="`+pj.Name+`"`, `"resourceVersion"="`+pj.ResourceVersion+`"`)
	if got := h.gh.Statuses("org/repo"); len(got) != 2 {
		t.Fatalf("a status update without a state change was reported: %+v", got)
	}
	h.set(pj, prowv1.SuccessState, "https://prow.example.com/view/1")
	got := h.waitStatuses(3)
	want := []string{"pending:Job triggered.", "pending:Job started.", "success:Job succeeded."}
	if len(got) != len(want) {
		t.Fatalf("statuses %+v, want %v", got, want)
	}
	for i, s := range got {
		if s.State+":"+s.Description != want[i] || s.Context != "unit" || s.SHA != "head1" {
			t.Errorf("status %d: %+v, want %s on head1 under unit", i, s, want[i])
		}
	}
	if got[2].TargetURL != "https://prow.example.com/view/1" {
		t.Errorf("target_url %q", got[2].TargetURL)
	}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(pj), pj); err != nil {
		t.Fatal(err)
	}
	if pj.Status.PrevReportStates[ReporterName] != prowv1.SuccessState {
		t.Errorf("prev_report_states %v", pj.Status.PrevReportStates)
	}
}

func TestStateMappingAndSkips(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	quiet := h.job("quiet", "head2")
	h.job("post", "")
	unit := h.job("unit", "head2")
	lint := h.job("lint", "head2")
	h.waitStatuses(3)
	h.set(unit, prowv1.AbortedState, "")
	h.set(lint, prowv1.ErrorState, "")
	h.set(quiet, prowv1.SuccessState, "")
	got := h.waitStatuses(5)
	final := map[string]string{}
	for _, s := range got {
		final[s.Context+"@"+s.SHA] = s.State
	}
	if len(got) != 5 || final["unit@head2"] != "failure" || final["lint@head2"] != "error" || final["post@base0000"] != "pending" {
		t.Errorf("statuses %+v", got)
	}
	if _, ok := final["quiet@head2"]; ok {
		t.Error("a skip_report job reported")
	}
}

func TestSummaryComment(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	comments := func() []githubtest.Comment { return h.gh.Comments("org/repo", 7) }
	waitComments := func(ok func([]githubtest.Comment) bool) []githubtest.Comment {
		t.Helper()
		_ = wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 15*time.Second, true, func(context.Context) (bool, error) {
			return ok(comments()), nil
		})
		return comments()
	}
	unit, lint := h.job("unit", "head3"), h.job("lint", "head3")
	h.set(unit, prowv1.FailureState, "https://prow.example.com/view/unit")
	c := waitComments(func(c []githubtest.Comment) bool { return len(c) == 1 })
	if len(c) != 1 || !strings.Contains(c[0].Body, "unit | head3 | [link](https://prow.example.com/view/unit) | true | `/test unit`") || !strings.HasPrefix(c[0].Body, "@alice") {
		t.Fatalf("after unit failed: %+v", c)
	}
	id := c[0].ID
	h.set(lint, prowv1.FailureState, "")
	c = waitComments(func(c []githubtest.Comment) bool { return len(c) == 1 && strings.Contains(c[0].Body, "/test lint") })
	if len(c) != 1 || c[0].ID != id || !strings.Contains(c[0].Body, "/test unit") {
		t.Fatalf("after lint failed too, want the same comment edited: %+v", c)
	}
	// unit is rerun and passes: the summary lists lint only.
	rerun := h.job("unit", "head3")
	h.set(rerun, prowv1.SuccessState, "")
	c = waitComments(func(c []githubtest.Comment) bool { return len(c) == 1 && !strings.Contains(c[0].Body, "/test unit") })
	if len(c) != 1 || c[0].ID != id || strings.Contains(c[0].Body, "/test unit") {
		t.Fatalf("after unit passed: %+v", c)
	}
	lint2 := h.job("lint", "head3")
	h.set(lint2, prowv1.SuccessState, "")
	c = waitComments(func(c []githubtest.Comment) bool { return len(c) == 0 })
	if len(c) != 0 {
		t.Fatalf("after all passed, the summary stays: %+v", c)
	}
}

// TestSummaryRetriedAfterGitHubErrors: GitHub fails every try of the summary's comment list once
// the failure's status is sent (the client's own retries included); Crier tries the summary again
// and writes it, without sending the status a second time.
func TestSummaryRetriedAfterGitHubErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	codes := make([]int, 6) // the first try and the client's five retries
	for i := range codes {
		codes[i] = 502
	}
	h.gh.FailNextOn("GET", "/repos/org/repo/issues/7/comments", codes...)
	unit := h.job("unit", "head9")
	h.set(unit, prowv1.FailureState, "")
	if err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 15*time.Second, true, func(context.Context) (bool, error) {
		return len(h.gh.Comments("org/repo", 7)) == 1, nil
	}); err != nil {
		t.Fatalf("no summary after the comment list failed once: %+v", h.gh.Comments("org/repo", 7))
	}
	failures := 0
	for _, s := range h.waitStatuses(1) {
		if s.Context == "unit" && s.State == "failure" {
			failures++
		}
	}
	if failures != 1 {
		t.Errorf("the failure status was sent %d times, want once", failures)
	}
}

// TestSummaryIsTheHeads: a failure on an older head reported after the head's own failure (a late
// report, as after a restart) leaves the summary as the head has it.
func TestSummaryIsTheHeads(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.gh.SetPullRequest("org/repo", githubtest.PullRequest{Number: 7, Author: "alice", HeadSHA: "headnew1", BaseRef: "main", BaseSHA: "base0000"})
	h.set(h.job("unit", "headnew1"), prowv1.FailureState, "")
	summary := func() string {
		if c := h.gh.Comments("org/repo", 7); len(c) == 1 {
			return c[0].Body
		}
		return ""
	}
	if err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 15*time.Second, true, func(context.Context) (bool, error) {
		return strings.Contains(summary(), "unit | headnew"), nil
	}); err != nil {
		t.Fatalf("no summary of the head's failure: %+v", h.gh.Comments("org/repo", 7))
	}
	h.set(h.job("lint", "headold1"), prowv1.FailureState, "")
	h.waitStatuses(2) // the old head's failure is reported, and Crier is done with it
	if got := summary(); !strings.Contains(got, "unit | headnew") || strings.Contains(got, "headold") {
		t.Errorf("after a late report of an older head, the summary is:\n%s", got)
	}
}
