// Package trigger is Prow's trigger plugin: pull request events, comments and pushes start the
// presubmits and postsubmits they call for, as ProwJobs, once per delivery, and only for trusted
// users' pull requests.
package trigger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	gh "github.com/google/go-github/v82/github"
	"github.com/google/uuid"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/events"
	"github.com/prowl-ci/prowl/internal/jobs"
	"github.com/prowl-ci/prowl/internal/plugins"
)

// Labels trigger reads and sets, as Prow's.
const (
	OkToTestLabel      = "ok-to-test"
	NeedsOkToTestLabel = "needs-ok-to-test"
)

// GitHub is what trigger asks of GitHub.
type GitHub interface {
	PullRequest(ctx context.Context, org, repo string, number int) (*gh.PullRequest, error)
	PullRequestFiles(ctx context.Context, org, repo string, number int) ([]string, error)
	IsMember(ctx context.Context, org, user string) (bool, error)
	IsCollaborator(ctx context.Context, org, repo, user string) (bool, error)
	CreateComment(ctx context.Context, org, repo string, number int, body string) error
	AddLabel(ctx context.Context, org, repo string, number int, label string) error
	RemoveLabel(ctx context.Context, org, repo string, number int, label string) error
}

// Trigger handles GitHub events.
type Trigger struct {
	GitHub  GitHub
	Client  client.Client // creates and aborts ProwJobs
	Config  func() *config.Config
	Plugins func() *plugins.Config
	Clock   clock.PassiveClock
	Log     logr.Logger
	// Backoff retries ProwJob creation; DefaultBackoff when zero.
	Backoff wait.Backoff
	// Recorder records each creation and abort on the ProwJob; nil records none.
	Recorder *events.Recorder
}

// DefaultBackoff retries a create for about 6 seconds.
var DefaultBackoff = wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Steps: 6}

// Handle acts on one event (its X-GitHub-Event name, delivery ID and JSON payload).
func (t *Trigger) Handle(ctx context.Context, eventType, delivery string, payload []byte) error {
	ev, err := gh.ParseWebHook(eventType, payload)
	if err != nil {
		return nil // an event type trigger does not act on
	}
	ctx = events.WithCause(ctx, events.TriggerCause(eventType, delivery))
	switch e := ev.(type) {
	case *gh.PullRequestEvent:
		return t.pullRequest(ctx, delivery, e)
	case *gh.IssueCommentEvent:
		return t.comment(ctx, delivery, e)
	case *gh.PushEvent:
		return t.push(ctx, delivery, e)
	}
	return nil
}

func (t *Trigger) enabled(org, repo string) bool {
	return t.Plugins().Enabled(org, repo, "trigger")
}

// trustedUser says whether user may start tests on org/repo, and if not, why.
func (t *Trigger) trustedUser(ctx context.Context, org, repo, user string) (bool, error) {
	tr := t.Plugins().TriggerFor(org, repo)
	if slices.Contains(tr.TrustedApps, strings.TrimSuffix(user, "[bot]")) && strings.HasSuffix(user, "[bot]") {
		return true, nil
	}
	for _, o := range append([]string{org}, tr.TrustedOrgs...) {
		member, err := t.GitHub.IsMember(ctx, o, user)
		if err != nil {
			return false, fmt.Errorf("is %s a member of %s: %w", user, o, err)
		}
		if member {
			return true, nil
		}
	}
	if tr.OnlyOrgMembers {
		return false, nil
	}
	collab, err := t.GitHub.IsCollaborator(ctx, org, repo, user)
	if err != nil {
		return false, fmt.Errorf("is %s a collaborator of %s/%s: %w", user, org, repo, err)
	}
	return collab, nil
}

// pull is what trigger needs of a pull request, from an event or from the API.
type pull struct {
	org, repo string
	number    int
	author    string
	headSHA   string
	headRef   string
	baseRef   string
	baseSHA   string
	title     string
	link      string
	draft     bool
	closed    bool
	labels    []string
}

func pullFrom(pr *gh.PullRequest, org, repo string) pull {
	p := pull{org: org, repo: repo, number: pr.GetNumber(), author: pr.GetUser().GetLogin(), headSHA: pr.GetHead().GetSHA(),
		headRef: pr.GetHead().GetRef(), baseRef: pr.GetBase().GetRef(), baseSHA: pr.GetBase().GetSHA(), title: pr.GetTitle(),
		link: pr.GetHTMLURL(), draft: pr.GetDraft(), closed: pr.GetState() == "closed"}
	for _, l := range pr.Labels {
		p.labels = append(p.labels, l.GetName())
	}
	return p
}

func (p pull) hasLabel(l string) bool { return slices.Contains(p.labels, l) }

// trustedPull says whether a pull request's tests may run: its author is trusted, or it carries
// ok-to-test.
func (t *Trigger) trustedPull(ctx context.Context, p pull) (bool, error) {
	if p.hasLabel(OkToTestLabel) {
		return true, nil
	}
	return t.trustedUser(ctx, p.org, p.repo, p.author)
}

func (t *Trigger) pullRequest(ctx context.Context, delivery string, e *gh.PullRequestEvent) error {
	org, repo := e.GetRepo().GetOwner().GetLogin(), e.GetRepo().GetName()
	if !t.enabled(org, repo) || e.PullRequest == nil {
		return nil
	}
	p := pullFrom(e.PullRequest, org, repo)
	switch e.GetAction() {
	case "opened", "reopened", "ready_for_review":
		if p.draft {
			return nil // drafts start nothing until they are ready for review
		}
		trusted, err := t.trustedPull(ctx, p)
		if err != nil {
			return err
		}
		if !trusted {
			return t.askForOkToTest(ctx, p)
		}
		return t.runAutomatic(ctx, delivery, p, false)
	case "synchronize":
		if err := t.abort(ctx, p, "Aborted: the pull request was updated.", func(pj *prowv1.ProwJob) bool {
			return pullSHA(pj) != p.headSHA
		}); err != nil {
			return err
		}
		if p.draft {
			return nil
		}
		trusted, err := t.trustedPull(ctx, p)
		if err != nil || !trusted {
			return err
		}
		return t.runAutomatic(ctx, delivery, p, false)
	case "labeled":
		if e.GetLabel().GetName() != OkToTestLabel || p.draft {
			return nil
		}
		trusted, err := t.trustedUser(ctx, org, repo, e.GetSender().GetLogin())
		if err != nil || !trusted {
			return err
		}
		if err := t.GitHub.RemoveLabel(ctx, org, repo, p.number, NeedsOkToTestLabel); err != nil {
			return err
		}
		return t.runAutomatic(ctx, delivery, p, true)
	case "closed":
		return t.abort(ctx, p, "Aborted: the pull request was closed.", func(*prowv1.ProwJob) bool { return true })
	}
	return nil
}

// askForOkToTest comments once on an untrusted pull request and labels it needs-ok-to-test.
func (t *Trigger) askForOkToTest(ctx context.Context, p pull) error {
	if p.hasLabel(NeedsOkToTestLabel) {
		return nil // asked already
	}
	tr := t.Plugins().TriggerFor(p.org, p.repo)
	join := ""
	if tr.JoinOrgURL != "" {
		join = fmt.Sprintf(" Regular contributors should [join the org](%s) to skip this step.", tr.JoinOrgURL)
	}
	body := fmt.Sprintf("Hi @%s. Thanks for your PR.\n\nI'm waiting for a member of %s to verify that this patch is reasonable to test. "+
		"If it is, they should reply with `/ok-to-test` on its own line. Until that is done, I will not automatically test new commits "+
		"in this PR, but the usual testing commands by org members will still work.%s", p.author, p.org, join)
	if err := t.GitHub.CreateComment(ctx, p.org, p.repo, p.number, body); err != nil {
		return err
	}
	return t.GitHub.AddLabel(ctx, p.org, p.repo, p.number, NeedsOkToTestLabel)
}

// changes fetches a pull request's changed files once, and only when a job needs them.
type changes struct {
	fetch func() ([]string, error)
	files []string
	err   error
	done  bool
}

func (c *changes) get() ([]string, error) {
	if !c.done {
		c.files, c.err = c.fetch()
		c.done = true
	}
	return c.files, c.err
}

// shouldRun decides, as Prow does, whether a presubmit runs on a pull request to base: it must
// be able to run on the branch; then always_run runs it, forced runs it (a /test naming it), a
// files rule decides by the changes, and otherwise defaults decides (true for /test all).
func shouldRun(p *config.Presubmit, base string, ch *changes, forced, defaults bool) (bool, error) {
	if !p.ShouldRun(base) {
		return false, nil
	}
	if p.AlwaysRun || forced {
		return true, nil
	}
	if p.CouldRun() {
		files, err := ch.get()
		if err != nil {
			return false, err
		}
		return p.ShouldRunForFiles(files), nil
	}
	return defaults, nil
}

func (t *Trigger) presubmits(org, repo string) []config.Presubmit {
	return t.Config().PresubmitsStatic[org+"/"+repo]
}

func (t *Trigger) changesOf(ctx context.Context, p pull) *changes {
	return &changes{fetch: func() ([]string, error) { return t.GitHub.PullRequestFiles(ctx, p.org, p.repo, p.number) }}
}

// runAutomatic starts the presubmits that run on their own. unlessRunning skips jobs already
// triggered or pending for the head SHA (a label added again, or by trigger itself).
func (t *Trigger) runAutomatic(ctx context.Context, delivery string, p pull, unlessRunning bool) error {
	ch := t.changesOf(ctx, p)
	var run []*config.Presubmit
	presubmits := t.presubmits(p.org, p.repo) // one config for the whole event, even if it reloads
	for i := range presubmits {
		job := &presubmits[i]
		ok, err := shouldRun(job, p.baseRef, ch, false, false)
		if err != nil {
			return err
		}
		if ok {
			run = append(run, job)
		}
	}
	if unlessRunning {
		existing, err := t.prowJobsOf(ctx, p)
		if err != nil {
			return err
		}
		run = slices.DeleteFunc(run, func(job *config.Presubmit) bool {
			return slices.ContainsFunc(existing, func(pj prowv1.ProwJob) bool {
				return pj.Spec.Job == job.Name && pullSHA(&pj) == p.headSHA && !pj.Complete()
			})
		})
	}
	return t.start(ctx, delivery, p, run)
}

// start creates a ProwJob per presubmit, named from the delivery and the job so that a retried
// or redelivered event creates each at most once.
func (t *Trigger) start(ctx context.Context, delivery string, p pull, run []*config.Presubmit) error {
	c := t.Config()
	refs := prowv1.Refs{
		Org: p.org, Repo: p.repo, RepoLink: "https://github.com/" + p.org + "/" + p.repo,
		BaseRef: p.baseRef, BaseSHA: p.baseSHA, BaseLink: fmt.Sprintf("https://github.com/%s/%s/commit/%s", p.org, p.repo, p.baseSHA),
		Pulls: []prowv1.Pull{{Number: p.number, Author: p.author, SHA: p.headSHA, Title: p.title, HeadRef: p.headRef,
			Link: p.link, CommitLink: fmt.Sprintf("https://github.com/%s/%s/pull/%d/commits/%s", p.org, p.repo, p.number, p.headSHA),
			AuthorLink: "https://github.com/" + p.author}},
	}
	var errs []error
	for _, job := range run {
		b := t.builder(c, delivery, job.Name)
		errs = append(errs, t.create(ctx, b.Presubmit(job, refs)))
	}
	return errors.Join(errs...)
}

func (t *Trigger) builder(c *config.Config, delivery, job string) jobs.Builder {
	b := jobs.NewBuilder(c)
	if t.Clock != nil {
		b.Clock = t.Clock
	}
	name := uuid.NewSHA1(uuid.NameSpaceURL, []byte("prowl-delivery:"+delivery+"/"+job)).String()
	b.NewName = func() string { return name }
	return b
}

// create makes a ProwJob, retrying with backoff; one that exists already (the same delivery
// handled again) is done.
func (t *Trigger) create(ctx context.Context, pj *prowv1.ProwJob) error {
	backoff := t.Backoff
	if backoff.Steps == 0 {
		backoff = DefaultBackoff
	}
	var last error
	err := wait.ExponentialBackoffWithContext(ctx, backoff, func(ctx context.Context) (bool, error) {
		created := pj.DeepCopy()
		err := jobs.Create(ctx, t.Client, created)
		switch {
		case err == nil:
			t.Log.Info("created ProwJob", "job", pj.Spec.Job, "name", pj.Name, "type", pj.Spec.Type)
			t.Recorder.Created(created, events.Cause(ctx))
			return true, nil
		case apierrors.IsAlreadyExists(err):
			return true, nil
		case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsForbidden(err):
			return false, err // retrying will not help
		}
		last = err
		return false, nil
	})
	if err != nil {
		if last != nil {
			err = last
		}
		return fmt.Errorf("create ProwJob for %s: %w", pj.Spec.Job, err)
	}
	return nil
}

// prowJobsOf lists a pull request's presubmit ProwJobs.
func (t *Trigger) prowJobsOf(ctx context.Context, p pull) ([]prowv1.ProwJob, error) {
	var list prowv1.ProwJobList
	err := t.Client.List(ctx, &list, client.InNamespace(t.Config().ProwJobNamespace), client.MatchingLabels{
		prowv1.OrgLabel: p.org, prowv1.RepoLabel: p.repo, prowv1.PullLabel: strconv.Itoa(p.number), prowv1.TypeLabel: string(prowv1.PresubmitJob),
	})
	if err != nil {
		return nil, fmt.Errorf("list the ProwJobs of %s/%s#%d: %w", p.org, p.repo, p.number, err)
	}
	return list.Items, nil
}

func pullSHA(pj *prowv1.ProwJob) string {
	if pj.Spec.Refs == nil || len(pj.Spec.Refs.Pulls) == 0 {
		return ""
	}
	return pj.Spec.Refs.Pulls[0].SHA
}

// abort ends the pull request's unfinished ProwJobs that match; Plank deletes their Pods.
func (t *Trigger) abort(ctx context.Context, p pull, why string, match func(*prowv1.ProwJob) bool) error {
	pjs, err := t.prowJobsOf(ctx, p)
	if err != nil {
		return err
	}
	var errs []error
	for i := range pjs {
		pj := &pjs[i]
		if pj.Complete() || !match(pj) {
			continue
		}
		// With an optimistic lock: a job that finished meanwhile keeps its result.
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if pj.Complete() {
				return nil
			}
			base := pj.DeepCopy()
			pj.Status.State, pj.Status.Description = prowv1.AbortedState, why
			err := t.Client.Status().Patch(ctx, pj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
			if apierrors.IsConflict(err) {
				if gerr := t.Client.Get(ctx, client.ObjectKeyFromObject(pj), pj); gerr != nil {
					return gerr
				}
			}
			return err
		})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("abort %s: %w", pj.Name, err))
			continue
		}
		t.Log.Info("aborted ProwJob", "job", pj.Spec.Job, "name", pj.Name, "why", why)
		t.Recorder.Aborted(pj, why)
	}
	return errors.Join(errs...)
}

func (t *Trigger) comment(ctx context.Context, delivery string, e *gh.IssueCommentEvent) error {
	org, repo := e.GetRepo().GetOwner().GetLogin(), e.GetRepo().GetName()
	if e.GetAction() != "created" || !e.GetIssue().IsPullRequest() || !t.enabled(org, repo) {
		return nil
	}
	cmds := plugins.ParseCommands(e.GetComment().GetBody())
	if !cmds.Any() {
		return nil
	}
	commenter := e.GetComment().GetUser().GetLogin()
	number := e.GetIssue().GetNumber()
	pr, err := t.GitHub.PullRequest(ctx, org, repo, number)
	if err != nil {
		return fmt.Errorf("get %s/%s#%d: %w", org, repo, number, err)
	}
	p := pullFrom(pr, org, repo)
	if p.closed {
		return nil
	}
	reply := func(msg string) error {
		return t.GitHub.CreateComment(ctx, org, repo, number, fmt.Sprintf("@%s: %s", commenter, msg))
	}
	trustedCommenter, err := t.trustedUser(ctx, org, repo, commenter)
	if err != nil {
		return err
	}
	if cmds.OkToTest {
		if t.Plugins().TriggerFor(org, repo).IgnoreOkToTest {
			return nil
		}
		if !trustedCommenter {
			return reply(fmt.Sprintf("Cannot trigger testing until a trusted user reviews the PR and leaves an `/ok-to-test` message. Only members of %s can do that.", org))
		}
	}
	trusted := trustedCommenter
	if !trusted {
		if trusted, err = t.trustedPull(ctx, p); err != nil {
			return err
		}
	}
	if !trusted {
		if cmds.OkToTest {
			return nil // answered above
		}
		return reply(fmt.Sprintf("Cannot trigger testing until a trusted user reviews the PR and leaves an `/ok-to-test` message. %s is not a member of %s, and the PR's author is not trusted either.", commenter, org))
	}
	if cmds.Help {
		return reply(t.help(p))
	}
	ch := t.changesOf(ctx, p)
	var run []*config.Presubmit
	presubmits := t.presubmits(org, repo) // one config for the whole event, even if it reloads
	for i := range presubmits {
		job := &presubmits[i]
		forced := cmds.Test && job.TriggerMatches(cmds.Body)
		ok, err := shouldRun(job, p.baseRef, ch, forced, cmds.TestAll)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if forced || cmds.TestAll {
			run = append(run, job)
			continue
		}
		if cmds.OkToTest || cmds.Retest {
			run = append(run, job) // decided below for /retest
		}
	}
	if cmds.Retest && !cmds.TestAll {
		if run, err = t.retestable(ctx, p, run, cmds); err != nil {
			return err
		}
	}
	if cmds.Test && len(run) == 0 && !cmds.Retest && !cmds.OkToTest {
		return reply("The specified target(s) for `/test` were not found.\n" + t.help(p))
	}
	if err := t.start(ctx, delivery, p, run); err != nil {
		return err
	}
	if cmds.OkToTest && trustedCommenter {
		// Labelled after the jobs exist: the labeled event this causes then finds them running.
		if !p.hasLabel(OkToTestLabel) {
			if err := t.GitHub.AddLabel(ctx, org, repo, number, OkToTestLabel); err != nil {
				return err
			}
		}
		return t.GitHub.RemoveLabel(ctx, org, repo, number, NeedsOkToTestLabel)
	}
	return nil
}

// retestable keeps, of the jobs that would run, those /retest reruns: the ones whose latest run
// on the head SHA failed, errored or was aborted, and the ones that never ran on it; jobs named
// by a /test in the same comment stay.
func (t *Trigger) retestable(ctx context.Context, p pull, run []*config.Presubmit, cmds plugins.Commands) ([]*config.Presubmit, error) {
	pjs, err := t.prowJobsOf(ctx, p)
	if err != nil {
		return nil, err
	}
	latest := map[string]*prowv1.ProwJob{}
	for i := range pjs {
		pj := &pjs[i]
		if pullSHA(pj) != p.headSHA {
			continue
		}
		if cur, ok := latest[pj.Spec.Job]; !ok || jobs.Newer(pj, cur) {
			latest[pj.Spec.Job] = pj
		}
	}
	return slices.DeleteFunc(run, func(job *config.Presubmit) bool {
		if cmds.Test && job.TriggerMatches(cmds.Body) {
			return false
		}
		pj, ok := latest[job.Name]
		if !ok {
			return false // should have run and did not
		}
		switch pj.Status.State {
		case prowv1.FailureState, prowv1.ErrorState, prowv1.AbortedState:
			return false
		}
		return true
	}), nil
}

// help lists the /test commands of a pull request's jobs, as Prow's reply to `/test ?`.
func (t *Trigger) help(p pull) string {
	var required, optional, auto []string
	for _, job := range t.presubmits(p.org, p.repo) {
		if !job.ShouldRun(p.baseRef) {
			continue
		}
		cmd := "* `" + job.RerunCommand + "`"
		if job.Optional {
			optional = append(optional, cmd)
		} else {
			required = append(required, cmd)
		}
		if job.AlwaysRun || job.CouldRun() {
			auto = append(auto, "* "+job.Name)
		}
	}
	sort.Strings(required)
	sort.Strings(optional)
	sort.Strings(auto)
	var b strings.Builder
	if len(required)+len(optional) == 0 {
		return fmt.Sprintf("No presubmit jobs are available for %s/%s on branch %s.", p.org, p.repo, p.baseRef)
	}
	if len(required) > 0 {
		b.WriteString("The following commands are available to trigger required jobs:\n" + strings.Join(required, "\n") + "\n\n")
	}
	if len(optional) > 0 {
		b.WriteString("The following commands are available to trigger optional jobs:\n" + strings.Join(optional, "\n") + "\n\n")
	}
	if len(auto) > 0 {
		b.WriteString("Use `/test all` to run the following jobs that were automatically triggered:\n" + strings.Join(auto, "\n") + "\n")
	}
	return strings.TrimSpace(b.String())
}

func (t *Trigger) push(ctx context.Context, delivery string, e *gh.PushEvent) error {
	org, repo := e.GetRepo().GetOwner().GetLogin(), e.GetRepo().GetName()
	if org == "" {
		org = e.GetRepo().GetOwner().GetName() // push payloads name the owner, not always its login
	}
	branch, isBranch := strings.CutPrefix(e.GetRef(), "refs/heads/")
	if !isBranch || e.GetDeleted() || strings.Trim(e.GetAfter(), "0") == "" || !t.enabled(org, repo) {
		return nil // tags and deletions start nothing
	}
	var files []string
	for _, c := range e.Commits {
		files = append(files, c.Added...)
		files = append(files, c.Removed...)
		files = append(files, c.Modified...)
	}
	c := t.Config()
	refs := prowv1.Refs{Org: org, Repo: repo, RepoLink: "https://github.com/" + org + "/" + repo, BaseRef: branch, BaseSHA: e.GetAfter(), BaseLink: e.GetCompare()}
	var errs []error
	for i := range c.PostsubmitsStatic[org+"/"+repo] {
		job := &c.PostsubmitsStatic[org+"/"+repo][i]
		if !job.ShouldRun(branch) {
			continue
		}
		switch {
		case job.CouldRun():
			if !job.ShouldRunForFiles(files) {
				continue
			}
		case job.AlwaysRun != nil && !*job.AlwaysRun:
			continue
		}
		errs = append(errs, t.create(ctx, t.builder(c, delivery, job.Name).Postsubmit(job, refs)))
	}
	return errors.Join(errs...)
}
