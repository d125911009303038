package plank

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/decorate"
	"github.com/prowl-ci/prowl/internal/jobs"
)

// triggered is what syncTriggered's steps find out and pass along.
type triggered struct {
	pj      *prowv1.ProwJob
	cluster client.Client
	buildID string
	pod     *corev1.Pod
	created bool // the Pod is new, not one adopted from before
	claimed bool // a slot of the job's limits is held for it (see starting)
}

// triggeredStep is one step of syncTriggered: done stops the steps there, with out and err.
type triggeredStep func(ctx context.Context, t *triggered) (done bool, out outcome, err error)

// syncTriggered starts a triggered job's Pod, in order: set the status defaults, abort the
// presubmits this one supersedes, find the build cluster, claim a slot of each limit, make the
// Pod, create (or adopt) it, and mark the job pending. A step stops early when the job must
// wait, or cannot run; a job that stops for good, or to wait, lets its slot go.
func (r *Reconciler) syncTriggered(ctx context.Context, pj *prowv1.ProwJob) (outcome, error) {
	t := &triggered{pj: pj}
	for _, step := range []triggeredStep{r.setDefaults, r.checkTimeouts, r.abortSupersededStep, r.findCluster, r.waitForCapacity, r.makePod, r.createPod, r.markPending} {
		if done, out, err := step(ctx, t); done || err != nil {
			// A transient error keeps the slot: the retry comes back to start the job, maybe
			// to adopt a Pod the failed attempt made.
			if t.claimed && (pj.Complete() || err == nil) {
				r.starting.release(pj)
			}
			return out, err
		}
	}
	return outcome{}, nil
}

// setDefaults sets the triggered state and startTime where the API server dropped them (status
// is a subresource: create drops it). It never stops.
func (r *Reconciler) setDefaults(_ context.Context, t *triggered) (bool, outcome, error) {
	if t.pj.Status.State == "" {
		t.pj.Status.State = prowv1.TriggeredState
	}
	if t.pj.Status.StartTime.IsZero() {
		t.pj.Status.StartTime = t.pj.CreationTimestamp
	}
	return false, outcome{}, nil
}

// checkTimeouts ends the job in error when one of its decoration_config's timeouts is negative:
// its Pod would be stopped (or never waited for) at once, for a reason no one would find.
func (r *Reconciler) checkTimeouts(_ context.Context, t *triggered) (bool, outcome, error) {
	dc := t.pj.Spec.DecorationConfig
	if dc == nil {
		return false, outcome{}, nil
	}
	for _, d := range []struct {
		field string
		value *time.Duration
	}{
		{"timeout", durationOf(dc.Timeout)}, {"grace_period", durationOf(dc.GracePeriod)},
		{"pod_pending_timeout", metaDurationOf(dc.PodPendingTimeout)}, {"pod_running_timeout", metaDurationOf(dc.PodRunningTimeout)},
		{"pod_unscheduled_timeout", metaDurationOf(dc.PodUnscheduledTimeout)},
	} {
		if d.value != nil && *d.value < 0 {
			r.finish(t.pj, prowv1.ErrorState, fmt.Sprintf("decoration_config.%s is %s: a timeout cannot be negative; set a positive duration such as 2h.", d.field, *d.value))
			return true, outcome{}, reconcile.TerminalError(errors.New(t.pj.Status.Description))
		}
	}
	return false, outcome{}, nil
}

func durationOf(d *prowv1.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	return &d.Duration
}

func metaDurationOf(d *metav1.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	return &d.Duration
}

// abortSupersededStep aborts older runs of a presubmit for the same change. It stops, to come
// back soon, when one of them changed meanwhile.
func (r *Reconciler) abortSupersededStep(ctx context.Context, t *triggered) (bool, outcome, error) {
	if t.pj.Spec.Type != prowv1.PresubmitJob {
		return false, outcome{}, nil
	}
	if err := r.abortSuperseded(ctx, t.pj); apierrors.IsConflict(err) {
		logr.FromContextOrDiscard(ctx).V(1).Info("a superseded job changed meanwhile; trying again", "reason", err.Error())
		return true, outcome{Result: requeueSoon(ctrl.Result{})}, nil
	} else if err != nil {
		return true, outcome{}, err
	}
	return false, outcome{}, nil
}

// waitForCapacity claims a slot of each limit the job counts against, or stops, saying why in
// the description, while one is full: a finishing job of the same limit requeues it, and a
// minute's requeue covers missed events. A job whose Pod exists already (made before a restart
// or a lost status write) takes its slot without waiting: the Pod runs.
func (r *Reconciler) waitForCapacity(ctx context.Context, t *triggered) (bool, outcome, error) {
	pod := &corev1.Pod{} // only read, so not deep-copied: this runs on every wait
	if err := t.cluster.Get(ctx, client.ObjectKey{Namespace: t.pj.Spec.Namespace, Name: t.pj.Name}, pod, client.UnsafeDisableDeepCopy); err == nil && pod.DeletionTimestamp == nil {
		r.starting.hold(t.pj)
		t.claimed = true
		return false, outcome{}, nil
	}
	var why string
	ok, err := r.starting.claim(ctx, r.Client, t.pj, func(others []*prowv1.ProwJob) (ok bool, err error) {
		ok, why, err = r.hasCapacity(ctx, t.pj, others)
		return ok, err
	})
	if err != nil {
		return true, outcome{}, err
	}
	if !ok {
		logr.FromContextOrDiscard(ctx).V(1).Info("waiting for capacity", "reason", why)
		t.pj.Status.Description = "Waiting: " + why
		return true, outcome{Result: ctrl.Result{RequeueAfter: time.Minute}}, nil
	}
	t.claimed = true
	return false, outcome{}, nil
}

// findCluster sets the build cluster's client; it ends the job in error when spec.cluster
// names no cluster Plank knows.
func (r *Reconciler) findCluster(_ context.Context, t *triggered) (bool, outcome, error) {
	c, ok := r.cluster(t.pj)
	if !ok {
		out, err := r.unknownCluster(t.pj)
		return true, out, err
	}
	t.cluster = c
	return false, outcome{}, nil
}

// makePod sets the build ID (the job's own, kept across revivals, or a new one) and decorates the
// Pod; it ends the job in error when the Pod cannot be made.
func (r *Reconciler) makePod(_ context.Context, t *triggered) (bool, outcome, error) {
	t.buildID = t.pj.Status.BuildID
	if t.buildID == "" {
		t.buildID = r.BuildIDs.Next()
	}
	pod, err := decorate.Pod(t.pj, t.buildID)
	if err != nil {
		r.finish(t.pj, prowv1.ErrorState, fmt.Sprintf("Cannot make the Pod: %v", err))
		return true, outcome{}, reconcile.TerminalError(err)
	}
	t.pod = pod
	return false, outcome{}, nil
}

// createPod creates the Pod, or adopts one created before a restart (and its build ID). It stops
// while the old Pod of a revival is still terminating, and ends the job in error when the API
// server refuses the Pod for good.
func (r *Reconciler) createPod(ctx context.Context, t *triggered) (bool, outcome, error) {
	err := t.cluster.Create(ctx, t.pod)
	switch {
	case err == nil:
		t.created = true
		return false, outcome{}, nil
	case apierrors.IsAlreadyExists(err):
		existing := &corev1.Pod{}
		if err := t.cluster.Get(ctx, client.ObjectKeyFromObject(t.pod), existing); err != nil {
			return true, outcome{}, fmt.Errorf("get existing pod %s: %w", t.pod.Name, err)
		}
		if existing.DeletionTimestamp != nil {
			// Its deletion requeues us; the fallback covers a missed event.
			return true, outcome{Result: ctrl.Result{RequeueAfter: 5 * time.Second}}, nil
		}
		if id := existing.Labels[prowv1.BuildIDLabel]; id != "" {
			t.buildID = id
		}
		return false, outcome{}, nil
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsForbidden(err) || apierrors.IsRequestEntityTooLargeError(err):
		r.finish(t.pj, prowv1.ErrorState, fmt.Sprintf("The API server refused the Pod: %v", err))
		return true, outcome{}, reconcile.TerminalError(err)
	}
	return true, outcome{}, fmt.Errorf("create pod %s: %w", t.pod.Name, err)
}

// markPending sets the pending state, pendingTime, the build ID, the Pod's name and the job's
// URL. It never stops.
func (r *Reconciler) markPending(ctx context.Context, t *triggered) (bool, outcome, error) {
	pj := t.pj
	if t.created {
		podCreateSeconds.Observe(max(r.Clock.Since(pj.CreationTimestamp.Time), 0).Seconds())
		defer r.Recorder.PodCreated(pj, t.pod.Name, pj.Spec.Cluster) // once the build ID is set below
	}
	now := metav1.NewTime(r.Clock.Now())
	pj.Status.State, pj.Status.PendingTime = prowv1.PendingState, &now
	pj.Status.BuildID, pj.Status.PodName = t.buildID, t.pod.Name
	pj.Status.Description = "Job triggered."
	if url, err := jobs.JobURL(&r.Config().Plank, pj); err == nil {
		pj.Status.URL = url
	} else {
		logr.FromContextOrDiscard(ctx).Error(err, "no job URL")
	}
	return false, outcome{}, nil
}
