package trigger

import (
	"context"
	"fmt"
	"slices"

	gh "github.com/google/go-github/v82/github"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
)

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
	// link, repoLink and authorLink are GitHub's html_url of the pull request, its base
	// repository and its author: on GitHub Enterprise they are on the Enterprise host.
	link       string
	repoLink   string
	authorLink string
	draft      bool
	closed     bool
	labels     []string
}

func pullFrom(pr *gh.PullRequest, org, repo string) pull {
	p := pull{org: org, repo: repo, number: pr.GetNumber(), author: pr.GetUser().GetLogin(), headSHA: pr.GetHead().GetSHA(),
		headRef: pr.GetHead().GetRef(), baseRef: pr.GetBase().GetRef(), baseSHA: pr.GetBase().GetSHA(), title: pr.GetTitle(),
		link: pr.GetHTMLURL(), repoLink: pr.GetBase().GetRepo().GetHTMLURL(), authorLink: pr.GetUser().GetHTMLURL(), draft: pr.GetDraft(), closed: pr.GetState() == "closed"}
	for _, l := range pr.Labels {
		p.labels = append(p.labels, l.GetName())
	}
	return p
}

func (p pull) hasLabel(l string) bool { return slices.Contains(p.labels, l) }

func (t *Trigger) pullRequest(ctx context.Context, delivery string, e *gh.PullRequestEvent) error {
	org, repo := e.GetRepo().GetOwner().GetLogin(), e.GetRepo().GetName()
	if !t.enabled(org, repo) || e.PullRequest == nil {
		return nil
	}
	p := pullFrom(e.PullRequest, org, repo)
	defer t.pulls.lock(org, repo, p.number)()
	// Each action that starts or aborts runs asks GitHub first whether the event is stale, after
	// the checks that need no call: a draft, or a label other than ok-to-test, costs no GET.
	switch e.GetAction() {
	case "opened", "reopened", "ready_for_review":
		if p.draft {
			return nil // drafts start nothing until they are ready for review
		}
		if stale, err := t.stale(ctx, p); stale || err != nil {
			return err
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
		if stale, err := t.stale(ctx, p); stale || err != nil {
			return err
		}
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
		if stale, err := t.stale(ctx, p); stale || err != nil {
			return err
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

// runAutomatic starts the presubmits that run on their own. unlessRunning skips jobs already
// triggered or pending for the head SHA (a label added again, or by trigger itself).
func (t *Trigger) runAutomatic(ctx context.Context, delivery string, p pull, unlessRunning bool) error {
	ch := t.changedFilesOf(ctx, p)
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
