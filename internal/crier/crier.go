// Package crier reports ProwJobs to GitHub, as Prow's Crier with its GitHub reporter: a commit
// status per job on the tested SHA under the job's context, sent only when the job's state has
// changed since the last report (status.prev_report_states), and one summary comment per pull
// request listing the failed jobs with their rerun commands, edited in place and deleted once
// none fails.
package crier

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"sync"

	gh "github.com/google/go-github/v82/github"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/events"
	"github.com/prowl-ci/prowl/internal/github"
	"github.com/prowl-ci/prowl/internal/jobs"
)

// ReporterName is this reporter's key in status.prev_report_states, as Prow's.
const ReporterName = "github-reporter"

// summaryMarker identifies the summary comment among a pull request's comments.
const summaryMarker = "<!-- prowl: failed tests summary -->"

// GitHub is what Crier asks of GitHub.
type GitHub interface {
	PullRequest(ctx context.Context, org, repo string, number int) (*gh.PullRequest, error)
	CreateStatus(ctx context.Context, org, repo, sha string, s github.Status) error
	ListComments(ctx context.Context, org, repo string, number int) ([]github.Comment, error)
	CreateComment(ctx context.Context, org, repo string, number int, body string) error
	EditComment(ctx context.Context, org, repo string, id int64, body string) error
	DeleteComment(ctx context.Context, org, repo string, id int64) error
}

// Reporter is the controller. It logs through the logger of each reconcile's context.
type Reporter struct {
	GitHub GitHub
	Client client.Client
	Config func() *config.Config
	// Recorder records each report (or failure) on the ProwJob; nil: one of the manager's.
	Recorder *events.Recorder

	mu sync.Mutex
	// reported and statuses are by ProwJob name, while the cache catches up: the state whose report
	// is complete (status, summary, prev_report_states), and the state whose status was sent, so
	// that a summary or a record that failed is tried again without sending the status twice.
	reported, statuses map[string]prowv1.ProwJobState
	prLocks            [64]sync.Mutex // one summary at a time per pull request (by hash)
}

// Setup registers the reporter with mgr, over the ProwJobs of the ProwJob namespace.
func (r *Reporter) Setup(mgr ctrl.Manager, workers int) error {
	r.reported, r.statuses = map[string]prowv1.ProwJobState{}, map[string]prowv1.ProwJobState{}
	if r.Recorder == nil {
		r.Recorder = events.New(mgr, "crier", nil)
	}
	ns := r.Config().ProwJobNamespace
	return ctrl.NewControllerManagedBy(mgr).Named("crier").
		For(&prowv1.ProwJob{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			pj, ok := o.(*prowv1.ProwJob)
			return ok && o.GetNamespace() == ns && reportable(pj)
		}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(workers, 1)}).
		Complete(r)
}

// reportable says whether the GitHub reporter reports pj at all.
func reportable(pj *prowv1.ProwJob) bool {
	return pj.Spec.Report && pj.Spec.Context != "" && pj.Spec.Refs != nil &&
		(pj.Spec.Type == prowv1.PresubmitJob || pj.Spec.Type == prowv1.PostsubmitJob)
}

// Reconcile reports one ProwJob's state when it changed.
func (r *Reporter) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var pj prowv1.ProwJob
	if err := r.Client.Get(ctx, req.NamespacedName, &pj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	state := pj.Status.State
	if !reportable(&pj) || state == "" {
		return ctrl.Result{}, nil
	}
	log := ctrl.LoggerFrom(ctx).WithValues("prowjob", pj.Name, "job", pj.Spec.Job)
	from := pj.Status.PrevReportStates[ReporterName]
	if from == state || r.sent(r.reported, pj.Name) == state {
		log.V(1).Info("state already reported", "state", state, "resourceVersion", pj.ResourceVersion)
		return ctrl.Result{}, nil
	}
	refs := pj.Spec.Refs
	sha := refs.BaseSHA
	if pj.Spec.Type == prowv1.PresubmitJob && len(refs.Pulls) > 0 {
		sha = refs.Pulls[0].SHA
	}
	if sha == "" {
		return ctrl.Result{}, nil
	}
	if r.sent(r.statuses, pj.Name) != state {
		if err := r.GitHub.CreateStatus(ctx, refs.Org, refs.Repo, sha, github.Status{
			State: GitHubState(state), Context: pj.Spec.Context, TargetURL: pj.Status.URL, Description: description(&pj),
		}); err != nil {
			err = fmt.Errorf("status %s on %s/%s@%s: %w", pj.Spec.Context, refs.Org, refs.Repo, sha, err)
			r.Recorder.ReportFailed(&pj, err)
			return ctrl.Result{}, err
		}
		r.Recorder.Reported(&pj, fmt.Sprintf("GitHub as status %s on %s/%s@%s", pj.Spec.Context, refs.Org, refs.Repo, sha))
		r.remember(r.statuses, pj.Name, state)
		log.Info("reported status", "context", pj.Spec.Context, "sha", sha, "from", from, "to", state)
	}
	if pj.Spec.Type == prowv1.PresubmitJob && pj.Complete() && len(refs.Pulls) == 1 {
		if err := r.summarize(ctx, &pj); err != nil {
			return ctrl.Result{}, err
		}
	}
	patch := client.MergeFrom(pj.DeepCopy())
	if pj.Status.PrevReportStates == nil {
		pj.Status.PrevReportStates = map[string]prowv1.ProwJobState{}
	}
	pj.Status.PrevReportStates[ReporterName] = state
	if err := r.Client.Status().Patch(ctx, &pj, patch); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("record the report of %s: %w", pj.Name, err)
	}
	r.remember(r.reported, pj.Name, state)
	return ctrl.Result{}, nil
}

// sent is the state m holds for a ProwJob.
func (r *Reporter) sent(m map[string]prowv1.ProwJobState, name string) prowv1.ProwJobState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return m[name]
}

// remember records a ProwJob's state in m.
func (r *Reporter) remember(m map[string]prowv1.ProwJobState, name string, s prowv1.ProwJobState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(m) > 100000 {
		clear(m) // prev_report_states holds it durably; this only bridges the cache's lag
	}
	m[name] = s
}

// GitHubState is the commit status state a ProwJob state is reported as.
func GitHubState(s prowv1.ProwJobState) string {
	switch s {
	case prowv1.SuccessState:
		return "success"
	case prowv1.FailureState, prowv1.AbortedState:
		return "failure"
	case prowv1.ErrorState:
		return "error"
	}
	return "pending" // triggered, pending
}

// description is the status's text: the job's description, else one by state, at most the 140
// characters GitHub takes.
func description(pj *prowv1.ProwJob) string {
	d := pj.Status.Description
	if d == "" {
		switch pj.Status.State {
		case prowv1.TriggeredState:
			d = "Job triggered."
		case prowv1.PendingState:
			d = "Job started."
		case prowv1.SuccessState:
			d = "Job succeeded."
		case prowv1.FailureState:
			d = "Job failed."
		case prowv1.AbortedState:
			d = "Job aborted."
		case prowv1.ErrorState:
			d = "Job errored."
		}
	}
	if r := []rune(d); len(r) > 140 {
		d = string(r[:137]) + "..."
	}
	return d
}

func (r *Reporter) prLock(key string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return &r.prLocks[h.Sum32()%uint32(len(r.prLocks))]
}

// summarize writes, edits or deletes the pull request's summary of failed jobs at its head.
func (r *Reporter) summarize(ctx context.Context, pj *prowv1.ProwJob) error {
	refs := pj.Spec.Refs
	pull := refs.Pulls[0]
	key := fmt.Sprintf("%s/%s#%d", refs.Org, refs.Repo, pull.Number)
	l := r.prLock(key)
	l.Lock()
	defer l.Unlock()
	if stale, err := r.staleHead(ctx, refs.Org, refs.Repo, pull); stale || err != nil {
		return err
	}
	var list prowv1.ProwJobList
	if err := r.Client.List(ctx, &list, client.InNamespace(pj.Namespace), client.MatchingLabels{
		prowv1.OrgLabel: refs.Org, prowv1.RepoLabel: refs.Repo, prowv1.PullLabel: strconv.Itoa(pull.Number), prowv1.TypeLabel: string(prowv1.PresubmitJob),
	}); err != nil {
		return err
	}
	// The latest run of each job on this head; the one being reported counts as it is now.
	latest := map[string]*prowv1.ProwJob{}
	for i := range list.Items {
		p := &list.Items[i]
		if p.Name == pj.Name {
			p = pj
		}
		if !reportable(p) || len(p.Spec.Refs.Pulls) != 1 || p.Spec.Refs.Pulls[0].SHA != pull.SHA {
			continue
		}
		if cur, ok := latest[p.Spec.Context]; !ok || newer(p, cur, pj) {
			latest[p.Spec.Context] = p
		}
	}
	var failed []*prowv1.ProwJob
	for _, p := range latest {
		if p.Status.State == prowv1.FailureState || p.Status.State == prowv1.ErrorState {
			failed = append(failed, p)
		}
	}
	sort.Slice(failed, func(i, j int) bool { return failed[i].Spec.Context < failed[j].Spec.Context })
	comments, err := r.GitHub.ListComments(ctx, refs.Org, refs.Repo, pull.Number)
	if err != nil {
		return err
	}
	var existing []github.Comment
	for _, c := range comments {
		if strings.Contains(c.Body, summaryMarker) {
			existing = append(existing, c)
		}
	}
	if len(failed) == 0 {
		var errs []error
		for _, c := range existing {
			errs = append(errs, r.GitHub.DeleteComment(ctx, refs.Org, refs.Repo, c.ID))
		}
		return errors.Join(errs...)
	}
	body := summaryBody(pull, failed)
	if len(existing) == 0 {
		return r.GitHub.CreateComment(ctx, refs.Org, refs.Repo, pull.Number, body)
	}
	if existing[0].Body != body {
		if err := r.GitHub.EditComment(ctx, refs.Org, refs.Repo, existing[0].ID, body); err != nil {
			return err
		}
	}
	var errs []error
	for _, c := range existing[1:] { // left by an earlier race or a restart: one summary only
		errs = append(errs, r.GitHub.DeleteComment(ctx, refs.Org, refs.Repo, c.ID))
	}
	return errors.Join(errs...)
}

// staleHead says whether pull is no longer the pull request's head on GitHub (asked
// conditionally: an unchanged pull request costs no rate limit). The summary is the head's: the
// report of a run on an older head (aborted by a push, or reported late after Crier restarted)
// must not replace it with that head's failures. A pull request GitHub does not show (404) is
// taken as the run has it.
func (r *Reporter) staleHead(ctx context.Context, org, repo string, pull prowv1.Pull) (bool, error) {
	pr, err := r.GitHub.PullRequest(ctx, org, repo, pull.Number)
	switch {
	case github.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("get %s/%s#%d: %w", org, repo, pull.Number, err)
	}
	return pr.GetHead().GetSHA() != pull.SHA, nil
}

// newer is jobs.Newer, with the job being reported the newer of two that tie.
func newer(a, b, reporting *prowv1.ProwJob) bool {
	if jobs.Newer(a, b) || jobs.Newer(b, a) {
		return jobs.Newer(a, b)
	}
	return a.Name == reporting.Name
}

func summaryBody(pull prowv1.Pull, failed []*prowv1.ProwJob) string {
	var b strings.Builder
	fmt.Fprintf(&b, "@%s: The following test%s **failed**, say `/retest` to rerun all failed tests:\n\n",
		pull.Author, map[bool]string{true: "s", false: ""}[len(failed) > 1])
	b.WriteString("Test name | Commit | Details | Required | Rerun command\n--- | --- | --- | --- | ---\n")
	for _, p := range failed {
		details := "link"
		if p.Status.URL != "" {
			details = "[link](" + p.Status.URL + ")"
		}
		required := "true"
		if p.Labels[prowv1.IsOptionalLabel] == "true" {
			required = "false"
		}
		rerun := p.Spec.RerunCommand
		if rerun == "" {
			rerun = "/test " + p.Spec.Job
		}
		sha := pull.SHA
		if len(sha) > 7 {
			sha = sha[:7]
		}
		fmt.Fprintf(&b, "%s | %s | %s | %s | `%s`\n", p.Spec.Context, sha, details, required, rerun)
	}
	b.WriteString("\n" + summaryMarker + "\n")
	return b.String()
}
