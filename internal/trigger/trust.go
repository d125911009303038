package trigger

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

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

// trustedPull says whether a pull request's tests may run: its author is trusted, or it carries
// ok-to-test.
func (t *Trigger) trustedPull(ctx context.Context, p pull) (bool, error) {
	if p.hasLabel(OkToTestLabel) {
		return true, nil
	}
	return t.trustedUser(ctx, p.org, p.repo, p.author)
}
