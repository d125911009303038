package sinker

import (
	"context"
	"fmt"
	"sync"

	"github.com/go-logr/logr"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/events"
)

// execute deletes the ProwJobs of plan, then its Pods, Workers at a time, and counts each
// deletion in r. An orphan candidate goes only if a fresh read of its ProwJob finds none; a
// delete that finds the object gone already is not an error.
func (s *Sinker) execute(ctx context.Context, plan Plan, r *Result) {
	log := logr.FromContextOrDiscard(ctx)
	var mu sync.Mutex
	done := func(kind, reason string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			r.Errors = append(r.Errors, err)
			deleteErrors.WithLabelValues(kind, string(apierrors.ReasonForError(err))).Inc()
			return
		}
		r.Deleted[kind][reason]++
	}
	s.each(ctx, len(plan.ProwJobs), func(i int) {
		d := plan.ProwJobs[i]
		if s.DryRun {
			log.Info("dry run: would delete prowjob", "prowjob", d.ProwJob.Name, "job", d.ProwJob.Spec.Job, "reason", d.Reason)
			done("prowjob", d.Reason, nil)
			return
		}
		err := s.deleteObject(ctx, s.ProwJobs, d.ProwJob)
		if err == nil {
			log.Info("deleted prowjob", "prowjob", d.ProwJob.Name, "job", d.ProwJob.Spec.Job, "reason", d.Reason)
			s.Recorder.Normal(d.ProwJob, events.ReasonDeleted, "Delete", "Sinker deleted the ProwJob (%s: it started more than sinker.max_prowjob_age ago).", d.Reason)
		}
		done("prowjob", d.Reason, wrap(err, "delete prowjob %s", d.ProwJob.Name))
	})
	s.each(ctx, len(plan.Pods), func(i int) {
		d := plan.Pods[i]
		reason, err := s.podReason(ctx, d)
		if err != nil || reason == "" {
			done("pod", reason, err)
			return
		}
		if s.DryRun {
			log.Info("dry run: would delete pod", "cluster", d.Cluster, "pod", d.Pod.Name, "prowjob", d.JobName, "reason", reason)
			done("pod", reason, nil)
			return
		}
		c := s.Clusters[d.Cluster].Client
		if err := release(ctx, c, d, reason); err != nil {
			done("pod", reason, wrap(err, "build cluster %s: pod %s: remove finalizer %s", d.Cluster, d.Pod.Name, prowv1.PodInfoFinalizer))
			return
		}
		err = s.deleteObject(ctx, c, d.Pod)
		if err == nil {
			log.Info("deleted pod", "cluster", d.Cluster, "pod", d.Pod.Name, "prowjob", d.JobName, "reason", reason)
			if d.ProwJob != nil && reason != ReasonPodOrphaned {
				s.Recorder.Normal(d.ProwJob, events.ReasonPodDeleted, "DeletePod", "Sinker deleted Pod %s in build cluster %s (%s).", d.Pod.Name, d.Cluster, reason)
			}
		}
		done("pod", reason, wrap(err, "build cluster %s: delete pod %s", d.Cluster, d.Pod.Name))
	})
}

// podReason is why d's Pod goes: its planned reason, or for an orphan candidate "orphaned" once
// the API server says its ProwJob is gone, else its fallback ("" to keep it).
func (s *Sinker) podReason(ctx context.Context, d PodDeletion) (string, error) {
	if !d.Orphan {
		return d.Reason, nil
	}
	err := s.Live.Get(ctx, client.ObjectKey{Namespace: s.Config().ProwJobNamespace, Name: d.JobName}, &prowv1.ProwJob{})
	switch {
	case apierrors.IsNotFound(err):
		return ReasonPodOrphaned, nil
	case err != nil:
		return "", fmt.Errorf("build cluster %s: pod %s: get its prowjob %s: %w", d.Cluster, d.Pod.Name, d.JobName, err)
	}
	return d.Fallback, nil
}

// release removes the pod-info finalizer, as Prow's Sinker does, from a Pod that nothing will
// read again: its ProwJob is gone, or its artifacts were completed (podinfo.json written). Left
// on, such a Pod would stay Terminating for ever where no completer runs (prowl sinker alone).
// A Pod whose job's directory is not complete yet keeps it: its podinfo.json is still to come.
func release(ctx context.Context, c client.Client, d PodDeletion, reason string) error {
	if !controllerutil.ContainsFinalizer(d.Pod, prowv1.PodInfoFinalizer) {
		return nil
	}
	if reason != ReasonPodOrphaned && (d.ProwJob == nil || d.ProwJob.Annotations[prowv1.ArtifactsCompletedAnnotation] == "") {
		return nil
	}
	pod := d.Pod.DeepCopy() // d.Pod is the cache's
	controllerutil.RemoveFinalizer(pod, prowv1.PodInfoFinalizer)
	// The resourceVersion guards the patch: a merge patch replaces the whole finalizer list.
	err := c.Patch(ctx, pod, client.MergeFromWithOptions(d.Pod, client.MergeFromWithOptimisticLock{}))
	return client.IgnoreNotFound(err)
}

// deleteObject deletes obj if it is still the object that was planned (same UID); one that is
// gone already counts as deleted.
func (s *Sinker) deleteObject(ctx context.Context, c client.Client, obj client.Object) error {
	uid := obj.GetUID()
	var target client.Object
	switch obj.(type) {
	case *prowv1.ProwJob:
		target = &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Namespace: obj.GetNamespace(), Name: obj.GetName()}}
	default:
		target = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: obj.GetNamespace(), Name: obj.GetName()}}
	}
	err := c.Delete(ctx, target, client.Preconditions{UID: &uid})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// each runs fn(0..n-1), Workers at a time.
func (s *Sinker) each(ctx context.Context, n int, fn func(int)) {
	workers := s.Workers
	if workers <= 0 {
		workers = 16
	}
	var g errgroup.Group
	g.SetLimit(workers)
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error { fn(i); return nil })
	}
	_ = g.Wait()
}

func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
