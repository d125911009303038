// Package trigger is Prow's trigger plugin: pull request events, comments and pushes start the
// presubmits and postsubmits they call for, as ProwJobs, once per delivery, and only for trusted
// users' pull requests.
package trigger

import (
	"context"
	"fmt"
	"time"

	gh "github.com/google/go-github/v82/github"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/events"
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

// Trigger handles GitHub events. It logs through the logger of each event's context.
type Trigger struct {
	GitHub  GitHub
	Client  client.Client // creates and aborts ProwJobs
	Config  func() *config.Config
	Plugins func() *plugins.Config
	// Clock stamps new ProwJobs and times the create retries; the real clock when nil.
	Clock clock.Clock
	// Backoff retries ProwJob creation; DefaultBackoff() when zero.
	Backoff wait.Backoff
	// Recorder records each creation and abort on the ProwJob; nil records none.
	Recorder *events.Recorder

	pulls pullLocks // one event at a time per pull request
}

// DefaultBackoff retries a create for about 6 seconds. It is a function, not a shared variable
// that any caller could change for every Trigger.
func DefaultBackoff() wait.Backoff {
	return wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Steps: 6}
}

// Handle acts on one event (its X-GitHub-Event name, delivery ID and JSON payload).
func (t *Trigger) Handle(ctx context.Context, eventType, delivery string, payload []byte) error {
	ev, err := gh.ParseWebHook(eventType, payload)
	if err != nil {
		return nil // an event type trigger does not act on
	}
	ctx = events.WithCause(ctx, cause(eventType, delivery, ev))
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

// cause is why the jobs an event starts are created, for their Created Event: what happened,
// who did it, and the delivery.
func cause(eventType, delivery string, ev any) string {
	var sender, what string
	if e, ok := ev.(interface{ GetSender() *gh.User }); ok {
		sender = e.GetSender().GetLogin()
	}
	switch e := ev.(type) {
	case *gh.PullRequestEvent:
		what = fmt.Sprintf("%s/%s#%d %s", e.GetRepo().GetOwner().GetLogin(), e.GetRepo().GetName(), e.GetNumber(), e.GetAction())
	case *gh.PushEvent:
		what = e.GetRef()
	}
	return events.TriggerCause(eventType, what, sender, delivery)
}

func (t *Trigger) enabled(org, repo string) bool {
	return t.Plugins().Enabled(org, repo, "trigger")
}

func (t *Trigger) clock() clock.Clock {
	if t.Clock == nil {
		return clock.RealClock{}
	}
	return t.Clock
}
