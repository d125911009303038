package trigger

import (
	"context"

	"github.com/prowl-ci/prowl/internal/config"
)

// changedFiles fetches a pull request's changed files once, and only when a job needs them.
type changedFiles struct {
	fetch func() ([]string, error)
	files []string
	err   error
	done  bool
}

func (c *changedFiles) get() ([]string, error) {
	if !c.done {
		c.files, c.err = c.fetch()
		c.done = true
	}
	return c.files, c.err
}

// shouldRun decides, as Prow does, whether a presubmit runs on a pull request to base: it must
// be able to run on the branch; then always_run runs it, forced runs it (a /test naming it), a
// files rule decides by the changes, and otherwise defaults decides (true for /test all).
func shouldRun(p *config.Presubmit, base string, ch *changedFiles, forced, defaults bool) (bool, error) {
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

func (t *Trigger) changedFilesOf(ctx context.Context, p pull) *changedFiles {
	return &changedFiles{fetch: func() ([]string, error) { return t.GitHub.PullRequestFiles(ctx, p.org, p.repo, p.number) }}
}
