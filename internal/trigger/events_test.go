package trigger

import (
	"context"
	"os"
	"testing"

	"github.com/prowl-ci/prowl/internal/events"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// TestCreatedEvents: every ProwJob Trigger creates carries a Created Event, read back from the
// API server as `kubectl describe prowjob` reads it, that says Trigger created it, for which
// event, by whom, and the delivery: a pull request, a /test comment and a push, each a real
// payload sent over HTTP.
func TestCreatedEvents(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, event, delivery string
		payload               func(t *testing.T) []byte
		want                  map[string]string // job → the Created Event
	}{
		{name: "pull request", event: "pull_request", delivery: "pr-opened",
			payload: func(t *testing.T) []byte { return payload(t, "octokit/pull_request/opened_1.json", nil) },
			want: map[string]string{
				"unit":      "trigger Normal Created: trigger created the ProwJob (presubmit job unit): pull request Codertocat/Hello-World#2 opened by @Codertocat (delivery pr-opened).",
				"code-only": "trigger Normal Created: trigger created the ProwJob (presubmit job code-only): pull request Codertocat/Hello-World#2 opened by @Codertocat (delivery pr-opened).",
			}},
		{name: "/test", event: "issue_comment", delivery: "test-comment",
			payload: func(t *testing.T) []byte { return comment(t, "m", "/test manual") },
			want: map[string]string{
				"manual": "trigger Normal Created: trigger created the ProwJob (presubmit job manual): a comment by @m asking for tests (/test, /retest or /ok-to-test) (delivery test-comment).",
			}},
		{name: "push", event: "push", delivery: "push-master",
			payload: func(t *testing.T) []byte {
				raw, err := os.ReadFile(testutil.SharedTestdata(t, "webhooks", "octokit/push/none_5.json"))
				if err != nil {
					t.Fatal(err)
				}
				return raw
			},
			want: map[string]string{
				"post-unit":   "trigger Normal Created: trigger created the ProwJob (postsubmit job post-unit): a push to refs/heads/master by @Codertocat (delivery push-master).",
				"post-readme": "trigger Normal Created: trigger created the ProwJob (postsubmit job post-readme): a push to refs/heads/master by @Codertocat (delivery push-master).",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.recordEvents(t)
			h.gh.AddMember("Codertocat", "Codertocat")
			h.gh.AddMember("Codertocat", "m")
			if err := h.sendAs(tc.event, tc.delivery, tc.payload(t)); err != nil {
				t.Fatal(err)
			}
			pjs := h.prowJobs()
			if len(pjs) != len(tc.want) {
				t.Fatalf("ProwJobs %v, want %d", h.jobs(), len(tc.want))
			}
			for _, pj := range pjs {
				got := env.Story(t, &pj, "ProwJob", 1)
				if len(got) != 1 || got[0] != tc.want[pj.Spec.Job] {
					t.Errorf("Events of %s (%s):\n got %q\nwant %q", pj.Name, pj.Spec.Job, got, tc.want[pj.Spec.Job])
				}
			}
		})
	}
}

// recordEvents gives the harness's Trigger a recorder of its own, as `prowl hook` does.
func (h *harness) recordEvents(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	rec, err := events.NewForConfig(ctx, env.Config, env.Scheme, "trigger")
	if err != nil {
		t.Fatal(err)
	}
	h.trig.Recorder = rec
}
