package trigger

import (
	"context"
	"errors"
	"strings"

	gh "github.com/google/go-github/v82/github"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

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
	// The links are GitHub's own (html_url, compare), as Prow's: right on GitHub Enterprise too.
	refs := prowv1.Refs{Org: org, Repo: repo, RepoLink: e.GetRepo().GetHTMLURL(), BaseRef: branch, BaseSHA: e.GetAfter(), BaseLink: e.GetCompare()}
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
