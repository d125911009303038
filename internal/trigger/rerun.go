package trigger

import (
	"context"
	"fmt"
)

// TrustedRerun says whether user may rerun a presubmit of pull request number on org/repo, as
// Prow's Deck asks the trigger plugin: user is one trigger trusts there (trusted app, member of
// the org or a trusted_org, or collaborator unless only_org_members), or the pull request carries
// ok-to-test. Deck calls it so that the rules live in one place.
func (t *Trigger) TrustedRerun(ctx context.Context, org, repo string, number int, user string) (bool, error) {
	ok, err := t.trustedUser(ctx, org, repo, user)
	if err != nil || ok {
		return ok, err
	}
	pr, err := t.GitHub.PullRequest(ctx, org, repo, number)
	if err != nil {
		return false, fmt.Errorf("get pull request %s/%s#%d: %w", org, repo, number, err)
	}
	return pullFrom(pr, org, repo).hasLabel(OkToTestLabel), nil
}
