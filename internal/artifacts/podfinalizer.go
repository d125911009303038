package artifacts

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-logr/logr"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// podKeeper holds prowv1.PodInfoFinalizer on the Pods of one build cluster while the completer
// may still need them, as Prow's Crier's pod-info reporter does: without it, a Pod deleted as
// soon as its job ends (Plank deletes the Pod of an aborted or timed-out job; Sinker or a user
// may delete any) is gone before podinfo.json is written. The completer removes the finalizer
// once it has written the job's directory; podKeeper removes it where the Pod is not needed.
type podKeeper struct {
	c       *Completer
	name    string // the build cluster's alias
	cluster cluster.Cluster
}

// setupPodKeepers adds a podKeeper per build cluster. Each watches the cluster's Prow Pods, and
// the ProwJobs, whose changes (completion, the completed annotation) decide its Pod's finalizer.
func (c *Completer) setupPodKeepers(mgr ctrl.Manager) error {
	prowPod := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetLabels()[prowv1.CreatedByProw] == "true" })
	for name, cl := range c.clusters {
		k := &podKeeper{c: c, name: name, cluster: cl}
		toPod := handler.EnqueueRequestsFromMapFunc(k.podOf)
		b := ctrl.NewControllerManagedBy(mgr).Named("artifacts-pods-"+name).
			Watches(&prowv1.ProwJob{}, toPod, builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
			WithOptions(controller.Options{MaxConcurrentReconciles: max(c.Workers, 1)})
		if cl == cluster.Cluster(mgr) {
			b = b.Watches(&corev1.Pod{}, &handler.EnqueueRequestForObject{}, builder.WithPredicates(prowPod))
		} else {
			b = b.WatchesRawSource(source.Kind(cl.GetCache(), client.Object(&corev1.Pod{}), &handler.EnqueueRequestForObject{}, prowPod))
		}
		if err := b.Complete(k); err != nil {
			return fmt.Errorf("pod finalizer controller of build cluster %s: %w", name, err)
		}
	}
	return nil
}

// podOf maps a ProwJob of this cluster to its Pod. A job whose status does not name its Pod yet
// (Plank creates the Pod before it records it) maps to the Pod Plank names after the job: a job
// deleted in that moment must still release its Pod.
func (k *podKeeper) podOf(_ context.Context, o client.Object) []reconcile.Request {
	pj, ok := o.(*prowv1.ProwJob)
	if !ok || clusterOf(pj) != k.name {
		return nil
	}
	name := pj.Status.PodName
	if name == "" {
		name = pj.Name
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: pj.Spec.Namespace, Name: name}}}
}

// Reconcile adds the finalizer to a Pod that needs it and removes it from one that does not.
// A Pod already being deleted gets no finalizer (the API server refuses new ones).
func (k *podKeeper) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	pod := &corev1.Pod{}
	if err := k.cluster.GetClient().Get(ctx, req.NamespacedName, pod); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if pod.Labels[prowv1.CreatedByProw] != "true" {
		return ctrl.Result{}, nil
	}
	needed, err := k.needed(ctx, pod)
	if err != nil {
		return ctrl.Result{}, err
	}
	has := controllerutil.ContainsFinalizer(pod, prowv1.PodInfoFinalizer)
	switch {
	case needed && !has && pod.DeletionTimestamp == nil:
		err = k.patch(ctx, pod, controllerutil.AddFinalizer)
	case !needed && has:
		err = k.patch(ctx, pod, controllerutil.RemoveFinalizer)
	}
	if apierrors.IsConflict(err) {
		// The Pod changed meanwhile (its kubelet or Plank wrote it): its update event brings
		// it back, and the retry below covers a missed one; not an error worth a stack trace.
		logr.FromContextOrDiscard(ctx).V(1).Info("pod changed meanwhile; reconciling again", "reason", err.Error())
		return ctrl.Result{RequeueAfter: conflictRetry}, nil
	}
	return ctrl.Result{}, err
}

// conflictRetry is how soon a Pod whose patch met a newer version is looked at again.
const conflictRetry = time.Second

// needed says whether the Pod must stay until the completer has read it: its ProwJob exists,
// has a bucket to write to, and has not had its directory completed; and the Pod is not being
// deleted while the job still runs (a revival: Plank recreates the Pod under the same name, so
// the old one must go).
func (k *podKeeper) needed(ctx context.Context, pod *corev1.Pod) (bool, error) {
	name := pod.Labels[prowv1.IDLabel]
	if name == "" {
		name = pod.Name
	}
	key := client.ObjectKey{Namespace: k.c.Config().ProwJobNamespace, Name: name}
	pj := &prowv1.ProwJob{}
	err := k.c.Client.Get(ctx, key, pj)
	if apierrors.IsNotFound(err) || (err == nil && pod.DeletionTimestamp != nil && !pj.Complete()) {
		// Not in the cache (a job just created, or gone), or its Pod deleted while the cache
		// says it runs: Plank stores a job's end before it deletes the Pod, so a fresh read
		// tells an ended job from a revival.
		err = k.c.Live.Get(ctx, key, pj)
	}
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get prowjob %s of pod %s: %w", name, pod.Name, err)
	}
	if gcs := k.c.gcsConfig(pj); gcs == nil || gcs.Bucket == "" || pj.Annotations[CompletedAnnotation] != "" {
		return false, nil
	}
	return pj.Complete() || pod.DeletionTimestamp == nil, nil
}

// patch adds or removes the finalizer with a JSON merge patch guarded by the resourceVersion,
// so that another writer's finalizers are never lost.
func (k *podKeeper) patch(ctx context.Context, pod *corev1.Pod, change func(client.Object, string) bool) error {
	base := pod.DeepCopy()
	change(pod, prowv1.PodInfoFinalizer)
	err := k.cluster.GetClient().Patch(ctx, pod, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	switch {
	case err == nil, apierrors.IsNotFound(err):
		return nil
	case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "no new finalizers"):
		return nil // deleted meanwhile: nothing to keep it for any more
	}
	return fmt.Errorf("finalizer %s on pod %s in build cluster %s: %w", prowv1.PodInfoFinalizer, pod.Name, k.name, err)
}

// clusterOf is the alias of the job's build cluster.
func clusterOf(pj *prowv1.ProwJob) string {
	if pj.Spec.Cluster == "" {
		return prowv1.DefaultClusterAlias
	}
	return pj.Spec.Cluster
}
