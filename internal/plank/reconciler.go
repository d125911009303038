// Package plank runs ProwJobs with agent kubernetes as Pods and drives each to a final state. A
// reconcile gets the ProwJob, keeps a copy, dispatches on its state to one method per state, and
// patches status once at the end.
package plank

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/decorate"
	"github.com/prowl-ci/prowl/internal/events"
	"github.com/prowl-ci/prowl/internal/jobs"
)

// BuildIDs hands out build IDs.
type BuildIDs interface{ Next() string }

// Reconciler is Plank.
type Reconciler struct {
	// Client reads (from the cache) and writes ProwJobs.
	Client client.Client
	// BuildClusters are the Pod clients by cluster alias; "default" is the manager's own.
	BuildClusters map[string]client.Client
	Config        func() *config.Config
	Clock         clock.PassiveClock
	BuildIDs      BuildIDs
	// Recorder records the job's steps as Events; nil records none.
	Recorder *events.Recorder
}

// Reconcile drives one ProwJob one step.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	start := r.Clock.Now()
	defer func() { reconcileSeconds.Observe(time.Since(start).Seconds()) }()
	pj := &prowv1.ProwJob{}
	if err := r.Client.Get(ctx, req.NamespacedName, pj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if pj.Spec.Agent != prowv1.KubernetesAgent || pj.Complete() {
		return ctrl.Result{}, nil
	}
	log := logr.FromContextOrDiscard(ctx).WithValues("prowjob", pj.Name, "job", pj.Spec.Job)
	ctx = logr.NewContext(ctx, log)
	base := pj.DeepCopy()
	after := &afterPatch{}
	ctx = context.WithValue(ctx, afterPatchKey{}, after)
	defer func() {
		if patchErr := r.patchStatus(ctx, base, pj); patchErr != nil {
			err = errors.Join(err, patchErr)
			return
		}
		// The Pod goes only once the state that explains it is stored: were it deleted first and
		// the status write lost, the next reconcile would take the Pod for vanished and revive it.
		if after.deletePod {
			if c, ok := r.cluster(pj); ok {
				err = errors.Join(err, r.deletePod(ctx, c, pj))
			}
		}
	}()
	switch pj.Status.State {
	case "", prowv1.TriggeredState:
		return r.syncTriggered(ctx, pj)
	case prowv1.PendingState:
		return r.syncPending(ctx, pj)
	case prowv1.AbortedState:
		return r.syncAborted(ctx, pj)
	}
	return ctrl.Result{}, nil
}

// patchStatus writes status through the subresource when it changed. The optimistic lock turns a
// concurrent write into a conflict, which requeues the ProwJob to be read afresh.
func (r *Reconciler) patchStatus(ctx context.Context, base, pj *prowv1.ProwJob) error {
	if equality.Semantic.DeepEqual(base.Status, pj.Status) {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, pj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("patch status of %s: %w", pj.Name, err)
	}
	r.Recorder.StateChanged(base, pj)
	if base.Status.State != pj.Status.State {
		logr.FromContextOrDiscard(ctx).Info("state changed", "from", base.Status.State, "to", pj.Status.State, "description", pj.Status.Description)
	}
	return nil
}

// finish puts pj in a final state, now.
func (r *Reconciler) finish(pj *prowv1.ProwJob, state prowv1.ProwJobState, description string) {
	now := metav1.NewTime(r.Clock.Now())
	pj.Status.State, pj.Status.Description, pj.Status.CompletionTime = state, description, &now
}

func (r *Reconciler) cluster(pj *prowv1.ProwJob) (client.Client, bool) {
	name := pj.Spec.Cluster
	if name == "" {
		name = prowv1.DefaultClusterAlias
	}
	c, ok := r.BuildClusters[name]
	return c, ok
}

// syncTriggered sets startTime where the API server dropped it, aborts the presubmits this one
// supersedes, waits for capacity, and creates the Pod; it stops early, requeued, when over
// capacity, and ends the job in error when the Pod can never be created.
func (r *Reconciler) syncTriggered(ctx context.Context, pj *prowv1.ProwJob) (ctrl.Result, error) {
	if pj.Status.State == "" {
		pj.Status.State = prowv1.TriggeredState
	}
	if pj.Status.StartTime.IsZero() {
		pj.Status.StartTime = pj.CreationTimestamp
	}
	if pj.Spec.Type == prowv1.PresubmitJob {
		if err := r.abortSuperseded(ctx, pj); err != nil {
			return ctrl.Result{}, err
		}
	}
	if ok, why, err := r.hasCapacity(ctx, pj); err != nil {
		return ctrl.Result{}, err
	} else if !ok {
		logr.FromContextOrDiscard(ctx).V(1).Info("waiting for capacity", "reason", why)
		pj.Status.Description = "Waiting: " + why
		// A finishing job of the same limit requeues this one; the fallback covers missed events.
		return ctrl.Result{RequeueAfter: time.Minute}, nil
	}
	c, ok := r.cluster(pj)
	if !ok {
		r.finish(pj, prowv1.ErrorState, fmt.Sprintf("Build cluster %q is not known to Plank; known: %v.", pj.Spec.Cluster, keys(r.BuildClusters)))
		return ctrl.Result{}, reconcile.TerminalError(errors.New(pj.Status.Description))
	}
	buildID := pj.Status.BuildID
	if buildID == "" {
		buildID = r.BuildIDs.Next()
	}
	pod, err := decorate.Pod(pj, buildID)
	if err != nil {
		r.finish(pj, prowv1.ErrorState, fmt.Sprintf("Cannot make the Pod: %v", err))
		return ctrl.Result{}, reconcile.TerminalError(err)
	}
	created := true
	if err := c.Create(ctx, pod); err != nil {
		switch {
		case apierrors.IsAlreadyExists(err):
			// Created before a restart, or a moment ago: adopt it, and its build ID.
			existing := &corev1.Pod{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(pod), existing); err != nil {
				return ctrl.Result{}, fmt.Errorf("get existing pod %s: %w", pod.Name, err)
			}
			if existing.DeletionTimestamp != nil {
				// The old Pod of a revival is still terminating; its deletion requeues us.
				return ctrl.Result{RequeueAfter: 5 * time.Second}, nil
			}
			if id := existing.Labels[prowv1.BuildIDLabel]; id != "" {
				buildID = id
			}
			created = false
		case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsForbidden(err) || apierrors.IsRequestEntityTooLargeError(err):
			r.finish(pj, prowv1.ErrorState, fmt.Sprintf("The API server refused the Pod: %v", err))
			return ctrl.Result{}, reconcile.TerminalError(err)
		default:
			return ctrl.Result{}, fmt.Errorf("create pod %s: %w", pod.Name, err)
		}
	}
	if created {
		podCreateSeconds.Observe(r.Clock.Since(pj.CreationTimestamp.Time).Seconds())
		defer r.Recorder.PodCreated(pj, pod.Name, pj.Spec.Cluster) // once the build ID is set below
	}
	now := metav1.NewTime(r.Clock.Now())
	pj.Status.State, pj.Status.PendingTime = prowv1.PendingState, &now
	pj.Status.BuildID, pj.Status.PodName = buildID, pod.Name
	pj.Status.Description = "Job triggered."
	if url, err := jobs.JobURL(&r.Config().Plank, pj); err == nil {
		pj.Status.URL = url
	} else {
		logr.FromContextOrDiscard(ctx).Error(err, "no job URL")
	}
	return ctrl.Result{}, nil
}

// afterPatch is what a reconcile does once its status write succeeded.
type afterPatch struct{ deletePod bool }

type afterPatchKey struct{}

// deletePodAfterPatch asks for the job's Pod to be deleted once the new status is stored.
func deletePodAfterPatch(ctx context.Context) {
	if a, ok := ctx.Value(afterPatchKey{}).(*afterPatch); ok {
		a.deletePod = true
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// syncAborted deletes the Pod of a job someone aborted and completes it.
func (r *Reconciler) syncAborted(ctx context.Context, pj *prowv1.ProwJob) (ctrl.Result, error) {
	deletePodAfterPatch(ctx)
	description := pj.Status.Description
	if description == "" || description == "Job triggered." {
		description = "Job aborted."
	}
	r.finish(pj, prowv1.AbortedState, description)
	return ctrl.Result{}, nil
}

func (r *Reconciler) deletePod(ctx context.Context, c client.Client, pj *prowv1.ProwJob) error {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pj.Name, Namespace: pj.Spec.Namespace}}
	if err := c.Delete(ctx, pod); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s: %w", pj.Name, err)
	}
	return nil
}
