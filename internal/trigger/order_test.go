package trigger

import (
	"testing"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// TestStaleEventAfterNewerPush: the synchronize event of an older push arrives after the newer
// push's was handled (GitHub's order is not guaranteed; Hook retries a failed event later; GitHub
// redelivers). GitHub shows the newer head, so the late event starts nothing and aborts nothing:
// the newer push's runs go on.
func TestStaleEventAfterNewerPush(t *testing.T) {
	t.Parallel()
	h := newHarness(t) // the pull request's head on GitHub is ec26c3e5
	h.gh.AddMember("Codertocat", "Codertocat")
	if err := h.send("pull_request", payload(t, "octokit/pull_request/synchronize_1.json", nil)); err != nil {
		t.Fatal(err)
	}
	if err := h.send("pull_request", payload(t, "octokit/pull_request/synchronize_1.json", map[string]any{"pull_request.head.sha": "0ld", "after": "0ld"})); err != nil {
		t.Fatal(err)
	}
	pjs := h.prowJobs()
	if len(pjs) != 2 {
		t.Errorf("%d ProwJobs, want the newer push's 2", len(pjs))
	}
	for _, pj := range pjs {
		if sha := pj.Spec.Refs.Pulls[0].SHA; sha != "ec26c3e57ca3a959ca5aad62de7213c562f8c821" || pj.Status.State != prowv1.TriggeredState {
			t.Errorf("%s at %s is %s (%s); want only the newer push's runs, triggered", pj.Spec.Job, sha, pj.Status.State, pj.Status.Description)
		}
	}
}
