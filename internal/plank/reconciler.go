// Package plank runs ProwJobs with agent kubernetes as Pods and drives each to a final state. A
// reconcile gets the ProwJob, keeps a copy, dispatches on its state to one method per state, and
// patches status once at the end.
package plank

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	// AnyClusterLocal runs a job of any alias not in BuildClusters on the "default" cluster (prowl
	// up's local node, which runs every build cluster's jobs when asked to).
	AnyClusterLocal bool
	Config          func() *config.Config
	Clock           clock.PassiveClock
	BuildIDs        BuildIDs
	// Recorder records the job's steps as Events; nil records none.
	Recorder *events.Recorder
	// LiveReaders read Pods from each build cluster's API server, past the cache, by the same
	// aliases as BuildClusters; an alias missing reads through its BuildClusters client.
	LiveReaders map[string]client.Reader

	// starting are the jobs being started, which the capacity checks count.
	starting starting
}

// outcome is what a state's sync decided: when to come back, and whether the job's Pod goes
// once the new status is stored.
type outcome struct {
	ctrl.Result
	// deletePod: the Pod goes only once the state that explains it is stored. Were it deleted
	// first and the status write lost, the next reconcile would take the Pod for vanished and
	// revive it.
	deletePod bool
}

// Reconcile drives one ProwJob one step: get it (ignoring not-found), keep a copy, run the sync
// of its state, store the status once, and then delete the Pod when the sync asked.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	start := r.Clock.Now()
	defer func() { reconcileSeconds.Observe(r.Clock.Since(start).Seconds()) }()
	pj := &prowv1.ProwJob{}
	if err := r.Client.Get(ctx, req.NamespacedName, pj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !plankRuns(pj) || pj.Complete() {
		return ctrl.Result{}, nil
	}
	log := logr.FromContextOrDiscard(ctx).WithValues("prowjob", pj.Name, "job", pj.Spec.Job)
	ctx = logr.NewContext(ctx, log)
	base := pj.DeepCopy()
	out, err := r.sync(ctx, pj)
	if patchErr := r.patchStatus(ctx, base, pj); apierrors.IsConflict(patchErr) {
		// Someone wrote the job meanwhile: its update event brings it back, read afresh.
		log.V(1).Info("status changed meanwhile; reconciling again", "reason", patchErr.Error())
		return requeueSoon(out.Result), nil
	} else if patchErr != nil {
		return out.Result, errors.Join(err, patchErr)
	}
	if out.deletePod {
		if c, ok := r.cluster(pj); ok {
			err = errors.Join(err, r.deletePod(ctx, c, pj))
		}
	}
	return out.Result, err
}

// plankRuns says whether Plank acts on pj: a kubernetes job, or one of an agent no Prow
// controller runs, which Plank ends in error rather than leave waiting forever.
func plankRuns(pj *prowv1.ProwJob) bool {
	return pj.Spec.Agent == prowv1.KubernetesAgent || !slices.Contains(prowv1.KnownAgents, pj.Spec.Agent)
}

// sync dispatches on the job's state to one method per state.
func (r *Reconciler) sync(ctx context.Context, pj *prowv1.ProwJob) (outcome, error) {
	if pj.Spec.Agent != prowv1.KubernetesAgent {
		if pj.Status.StartTime.IsZero() {
			pj.Status.StartTime = pj.CreationTimestamp
		}
		r.finish(pj, prowv1.ErrorState, fmt.Sprintf("Agent %q is not one Prow runs (%s); Plank runs agent kubernetes: set spec.agent.", pj.Spec.Agent, prowv1.KnownAgentList()))
		return outcome{}, reconcile.TerminalError(errors.New(pj.Status.Description))
	}
	switch pj.Status.State {
	case "", prowv1.TriggeredState:
		return r.syncTriggered(ctx, pj)
	case prowv1.PendingState:
		return r.syncPending(ctx, pj)
	case prowv1.AbortedState:
		return r.syncAborted(ctx, pj)
	}
	return outcome{}, nil
}

// conflictRequeue is when a ProwJob whose write met a newer version comes back at the latest,
// should its update event be missed.
const conflictRequeue = time.Second

// requeueSoon is res, due back within conflictRequeue.
func requeueSoon(res ctrl.Result) ctrl.Result {
	if res.RequeueAfter == 0 || res.RequeueAfter > conflictRequeue {
		res.RequeueAfter = conflictRequeue
	}
	return res
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
		logr.FromContextOrDiscard(ctx).Info("state changed", "job", pj.Spec.Job, "from", base.Status.State, "to", pj.Status.State, "description", pj.Status.Description, "url", pj.Status.URL)
	}
	return nil
}

// finish puts pj in a final state, now.
func (r *Reconciler) finish(pj *prowv1.ProwJob, state prowv1.ProwJobState, description string) {
	now := metav1.NewTime(r.Clock.Now())
	pj.Status.State, pj.Status.Description, pj.Status.CompletionTime = state, description, &now
}

// clusterAlias is the build cluster pj runs on, as a key of BuildClusters; false when Plank
// knows no such cluster.
func (r *Reconciler) clusterAlias(pj *prowv1.ProwJob) (string, bool) {
	name := pj.Spec.Cluster
	if name == "" {
		name = prowv1.DefaultClusterAlias
	}
	if _, ok := r.BuildClusters[name]; ok {
		return name, true
	}
	if _, ok := r.BuildClusters[prowv1.DefaultClusterAlias]; ok && r.AnyClusterLocal {
		return prowv1.DefaultClusterAlias, true
	}
	return "", false
}

func (r *Reconciler) cluster(pj *prowv1.ProwJob) (client.Client, bool) {
	alias, ok := r.clusterAlias(pj)
	return r.BuildClusters[alias], ok
}

// liveReader reads pj's Pod from its build cluster's API server rather than the cache.
func (r *Reconciler) liveReader(pj *prowv1.ProwJob) client.Reader {
	alias, _ := r.clusterAlias(pj)
	if lr, ok := r.LiveReaders[alias]; ok {
		return lr
	}
	return r.BuildClusters[alias]
}

// unknownCluster ends a job whose spec.cluster names no build cluster of Plank's: in error, for
// good (a TerminalError), whatever state it was in.
func (r *Reconciler) unknownCluster(pj *prowv1.ProwJob) (outcome, error) {
	r.finish(pj, prowv1.ErrorState, fmt.Sprintf("Build cluster %q is not known to Plank; known: %v.", pj.Spec.Cluster, keys(r.BuildClusters)))
	return outcome{}, reconcile.TerminalError(errors.New(pj.Status.Description))
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// syncAborted completes a job someone aborted; its Pod goes once that is stored. A job aborted
// before its pending state was stored may have a Pod all the same (created, and the status write
// then lost, to an API server restart say): it takes that Pod's build ID and name, so that its
// run's artifacts are looked for where the Pod wrote them rather than under a build ID of its own.
func (r *Reconciler) syncAborted(ctx context.Context, pj *prowv1.ProwJob) (outcome, error) {
	if pj.Status.BuildID == "" {
		if err := r.adoptPod(ctx, pj); err != nil {
			return outcome{}, err
		}
	}
	description := pj.Status.Description
	if description == "" || description == "Job triggered." {
		description = "Job aborted."
	}
	r.finish(pj, prowv1.AbortedState, description)
	return outcome{deletePod: true}, nil
}

// adoptPod sets the build ID, Pod name and URL of a job that has none from its Pod, when one exists.
func (r *Reconciler) adoptPod(ctx context.Context, pj *prowv1.ProwJob) error {
	c, ok := r.cluster(pj)
	if !ok {
		return nil
	}
	pod := &corev1.Pod{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: pj.Spec.Namespace, Name: pj.Name}, pod); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("get pod %s: %w", pj.Name, err)
	}
	id := pod.Labels[prowv1.BuildIDLabel]
	if id == "" {
		return nil
	}
	pj.Status.BuildID, pj.Status.PodName = id, pod.Name
	if url, err := jobs.JobURL(&r.Config().Plank, pj); err == nil {
		pj.Status.URL = url
	}
	return nil
}

func (r *Reconciler) deletePod(ctx context.Context, c client.Client, pj *prowv1.ProwJob) error {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pj.Name, Namespace: pj.Spec.Namespace}}
	if err := c.Delete(ctx, pod); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s: %w", pj.Name, err)
	}
	return nil
}
