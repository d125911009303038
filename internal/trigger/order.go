package trigger

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/prowl-ci/prowl/internal/github"
)

// pullLocks serialise what trigger does for one pull request (by a hash of org/repo#number):
// Hook handles events at once, so a push's event could otherwise abort the runs of a newer push
// being created at the same moment.
type pullLocks [64]sync.Mutex

// lock takes the pull request's lock and returns its release.
func (l *pullLocks) lock(org, repo string, number int) func() {
	h := fnv.New32a()
	_, _ = fmt.Fprintf(h, "%s/%s#%d", org, repo, number)
	m := &l[h.Sum32()%uint32(len(l))]
	m.Lock()
	return m.Unlock
}

// stale says whether a pull request event is for a head the pull request no longer has, asking
// GitHub (conditionally: an unchanged pull request costs no rate limit). GitHub sends events in no
// guaranteed order, Hook tries a failed event again after a backoff, and GitHub or an operator
// redelivers old ones: an event for an older push handled after a newer push's would abort the
// newer push's runs and run the old head. A stale event starts nothing and aborts nothing; the
// newer push's own event does both. A pull request GitHub does not show (404) is taken as the
// event has it.
func (t *Trigger) stale(ctx context.Context, p pull) (bool, error) {
	pr, err := t.GitHub.PullRequest(ctx, p.org, p.repo, p.number)
	switch {
	case github.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("get %s/%s#%d: %w", p.org, p.repo, p.number, err)
	}
	if head := pr.GetHead().GetSHA(); head != p.headSHA || pr.GetState() == "closed" {
		ctrl.LoggerFrom(ctx).Info("stale event: the pull request has moved on since; nothing to do",
			"pull", p.number, "eventHead", p.headSHA, "head", head, "state", pr.GetState())
		return true, nil
	}
	return false, nil
}
