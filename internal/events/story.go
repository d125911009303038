package events

import (
	"context"
	"fmt"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
)

// The steps of a ProwJob's story, one call each in the components.

// Created records that the component created pj, and why.
func (r *Recorder) Created(pj *prowv1.ProwJob, why string) {
	if r == nil {
		return
	}
	r.Normal(pj, ReasonCreated, "Create", "%s created the ProwJob (%s job %s): %s.", r.component, pj.Spec.Type, pj.Spec.Job, why)
}

// PodCreated records that Plank created pj's Pod.
func (r *Recorder) PodCreated(pj *prowv1.ProwJob, podName, cluster string) {
	if cluster == "" {
		cluster = prowv1.DefaultClusterAlias
	}
	r.Normal(pj, ReasonPodCreated, "CreatePod", "Created Pod %s in build cluster %s (build %s).", podName, cluster, pj.Status.BuildID)
}

// StateChanged records what a status write did to a job: a revival (the Pod is recreated), an
// abort (and why: its description), or another move between states (with the description).
// It records nothing where the state and revival count stayed.
func (r *Recorder) StateChanged(before, after *prowv1.ProwJob) {
	if r == nil {
		return
	}
	switch from, to := stateOf(before), stateOf(after); {
	case after.Status.PodRevivalCount > before.Status.PodRevivalCount:
		r.Warning(after, ReasonRevived, "RevivePod", "%s", after.Status.Description)
	case from == to:
	case to == prowv1.AbortedState:
		r.Aborted(after, after.Status.Description)
	case to == prowv1.FailureState || to == prowv1.ErrorState:
		r.Warning(after, ReasonStateChanged, "ChangeState", "%s → %s: %s", from, to, after.Status.Description)
	default:
		r.Normal(after, ReasonStateChanged, "ChangeState", "%s → %s: %s", from, to, after.Status.Description)
	}
}

// Aborted records that pj was aborted, and by what (a newer run, a user, a timeout).
func (r *Recorder) Aborted(pj *prowv1.ProwJob, why string) {
	r.Warning(pj, ReasonAborted, "Abort", "%s", why)
}

// Reported records that Crier reported pj's state (to names where: "GitHub status ctx on sha").
func (r *Recorder) Reported(pj *prowv1.ProwJob, to string) {
	r.Normal(pj, ReasonReported, "Report", "Reported %s to %s.", pj.Status.State, to)
}

// ReportFailed records that Crier could not report pj, and why.
func (r *Recorder) ReportFailed(pj *prowv1.ProwJob, err error) {
	r.Warning(pj, ReasonReportFailed, "Report", "Could not report %s: %v", pj.Status.State, err)
}

func stateOf(pj *prowv1.ProwJob) prowv1.ProwJobState {
	if pj.Status.State == "" {
		return prowv1.TriggeredState
	}
	return pj.Status.State
}

// PeriodicWhy is why Horologium starts p now: its interval, minimum_interval or cron firing.
func PeriodicWhy(p *config.Periodic, first bool) string {
	switch {
	case first:
		return "its first run"
	case p.GetInterval() > 0:
		return fmt.Sprintf("interval %s has passed since the last run started", p.Interval)
	case p.GetMinimumInterval() > 0:
		return fmt.Sprintf("minimum_interval %s has passed since the last run completed", p.MinimumInterval)
	}
	return fmt.Sprintf("cron %q fired", p.Cron)
}

type causeKey struct{}

// WithCause carries why the jobs created while handling an event are created (Trigger's event).
func WithCause(ctx context.Context, why string) context.Context {
	return context.WithValue(ctx, causeKey{}, why)
}

// Cause is what WithCause carried, "" for none.
func Cause(ctx context.Context) string {
	why, _ := ctx.Value(causeKey{}).(string)
	return why
}

// TriggerCause is why Trigger creates jobs for a GitHub event of type eventType: what happened
// (a pull request's action, a pushed ref), who did it (the event's sender) and the delivery, so
// that `kubectl describe` answers "who started this, and why".
func TriggerCause(eventType, what, sender, delivery string) string {
	by := ""
	if sender != "" {
		by = " by @" + sender
	}
	switch eventType {
	case "pull_request":
		return fmt.Sprintf("pull request %s%s (delivery %s)", what, by, delivery)
	case "issue_comment":
		return fmt.Sprintf("a comment%s asking for tests (/test, /retest or /ok-to-test) (delivery %s)", by, delivery)
	case "push":
		return fmt.Sprintf("a push to %s%s (delivery %s)", what, by, delivery)
	}
	return fmt.Sprintf("a GitHub %s event%s (delivery %s)", eventType, by, delivery)
}
