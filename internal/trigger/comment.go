package trigger

import (
	"context"
	"fmt"
	"slices"

	gh "github.com/google/go-github/v82/github"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/jobs"
	"github.com/prowl-ci/prowl/internal/plugins"
)

// comment acts on a new comment on a pull request: it checks that the commenter (or the pull
// request) is trusted, then answers /test ? or starts the jobs the commands name, and for a
// trusted /ok-to-test labels the pull request.
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
	// Under the pull request's lock, read afresh: the runs start for the head it has now.
	defer t.pulls.lock(org, repo, number)()
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
	trustedCommenter, stop, err := t.authorizeComment(ctx, p, commenter, cmds, reply)
	if stop || err != nil {
		return err
	}
	if cmds.Help {
		return reply(t.help(p))
	}
	run, err := t.requested(ctx, p, cmds)
	if err != nil {
		return err
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

// authorizeComment decides whether a comment's commands may run: the commenter is trusted, or
// (except for /ok-to-test) the pull request is. It says whether the commenter is trusted, and
// stops, having replied where Prow does, when the commands may not run.
func (t *Trigger) authorizeComment(ctx context.Context, p pull, commenter string, cmds plugins.Commands, reply func(string) error) (trustedCommenter, stop bool, err error) {
	trustedCommenter, err = t.trustedUser(ctx, p.org, p.repo, commenter)
	if err != nil {
		return false, true, err
	}
	if cmds.OkToTest {
		if t.Plugins().TriggerFor(p.org, p.repo).IgnoreOkToTest {
			return trustedCommenter, true, nil
		}
		if !trustedCommenter {
			return false, true, reply(fmt.Sprintf("Cannot trigger testing until a trusted user reviews the PR and leaves an `/ok-to-test` message. Only members of %s can do that.", p.org))
		}
	}
	if trustedCommenter {
		return true, false, nil
	}
	trusted, err := t.trustedPull(ctx, p)
	if err != nil || trusted {
		return false, err != nil, err
	}
	if cmds.OkToTest {
		return false, true, nil // answered above
	}
	return false, true, reply(fmt.Sprintf("Cannot trigger testing until a trusted user reviews the PR and leaves an `/ok-to-test` message. %s is not a member of %s, and the PR's author is not trusted either.", commenter, p.org))
}

// requested lists the presubmits a comment's commands start: the ones /test names, all that can
// run for /test all, and for /ok-to-test and /retest the ones that should run (for /retest, only
// those retestable keeps).
func (t *Trigger) requested(ctx context.Context, p pull, cmds plugins.Commands) ([]*config.Presubmit, error) {
	ch := t.changedFilesOf(ctx, p)
	var run []*config.Presubmit
	presubmits := t.presubmits(p.org, p.repo) // one config for the whole event, even if it reloads
	for i := range presubmits {
		job := &presubmits[i]
		forced := cmds.Test && job.TriggerMatches(cmds.Body)
		ok, err := shouldRun(job, p.baseRef, ch, forced, cmds.TestAll)
		if err != nil {
			return nil, err
		}
		if ok && (forced || cmds.TestAll || cmds.OkToTest || cmds.Retest) {
			run = append(run, job) // decided below for /retest
		}
	}
	if cmds.Retest && !cmds.TestAll {
		return t.retestable(ctx, p, run, cmds)
	}
	return run, nil
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
