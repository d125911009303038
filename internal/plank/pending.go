package plank

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// timeouts are a job's Pod deadlines: its decoration_config's, else plank's.
func (r *Reconciler) timeouts(pj *prowv1.ProwJob) (unscheduled, pending, running time.Duration) {
	plank := r.Config().Plank
	unscheduled, pending, running = plank.PodTimeouts()
	if dc := pj.Spec.DecorationConfig; dc != nil {
		if dc.PodUnscheduledTimeout != nil {
			unscheduled = dc.PodUnscheduledTimeout.Duration
		}
		if dc.PodPendingTimeout != nil {
			pending = dc.PodPendingTimeout.Duration
		}
		if dc.PodRunningTimeout != nil {
			running = dc.PodRunningTimeout.Duration
		}
	}
	return unscheduled, pending, running
}

// syncPending follows the Pod: a finished Pod finishes the job; an evicted or vanished one is
// recreated while revivals remain; one past a deadline is stopped. Otherwise it requeues at the
// next deadline.
func (r *Reconciler) syncPending(ctx context.Context, pj *prowv1.ProwJob) (ctrl.Result, error) {
	log := logr.FromContextOrDiscard(ctx)
	c, ok := r.cluster(pj)
	if !ok {
		r.finish(pj, prowv1.ErrorState, fmt.Sprintf("Build cluster %q is not known to Plank.", pj.Spec.Cluster))
		return ctrl.Result{}, nil
	}
	pod := &corev1.Pod{}
	err := c.Get(ctx, client.ObjectKey{Namespace: pj.Spec.Namespace, Name: pj.Status.PodName}, pod)
	if apierrors.IsNotFound(err) {
		return r.revive(pj, "The Pod disappeared")
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("get pod %s: %w", pj.Status.PodName, err)
	}
	if pod.DeletionTimestamp != nil {
		// Someone is deleting it; its disappearance requeues the job.
		return ctrl.Result{}, nil
	}
	maxRevivals := r.Config().Plank.Revivals()
	switch {
	case disrupted(pod):
		if pj.Spec.ErrorOnEviction {
			r.finish(pj, prowv1.ErrorState, "The Pod was evicted or its node lost, and the job sets error_on_eviction.")
			deletePodAfterPatch(ctx)
			return ctrl.Result{}, nil
		}
		if pj.Status.PodRevivalCount >= maxRevivals {
			r.finish(pj, prowv1.ErrorState, fmt.Sprintf("The Pod was evicted or its node lost %d times; plank.max_revivals is %d.", pj.Status.PodRevivalCount+1, maxRevivals))
			deletePodAfterPatch(ctx)
			return ctrl.Result{}, nil
		}
		log.Info("pod disrupted; recreating it", "revival", pj.Status.PodRevivalCount+1)
		pj.Status.PodRevivalCount++
		pj.Status.State, pj.Status.PendingTime = prowv1.TriggeredState, nil
		pj.Status.Description = fmt.Sprintf("The Pod was evicted or its node lost; recreating it (revival %d of %d).", pj.Status.PodRevivalCount, maxRevivals)
		deletePodAfterPatch(ctx)
		return ctrl.Result{}, nil
	case pod.Status.Phase == corev1.PodSucceeded:
		if code, name := failedContainer(pod); code != 0 {
			r.finish(pj, prowv1.FailureState, fmt.Sprintf("Job failed: container %s exited %d.", name, code))
		} else {
			r.finish(pj, prowv1.SuccessState, "Job succeeded.")
		}
		return ctrl.Result{}, nil
	case pod.Status.Phase == corev1.PodFailed:
		if name := oomKilled(pod); name != "" {
			r.finish(pj, prowv1.ErrorState, fmt.Sprintf("Container %s ran out of memory (OOMKilled).", name))
			return ctrl.Result{}, nil
		}
		if code, name := failedContainer(pod); code != 0 {
			r.finish(pj, prowv1.FailureState, fmt.Sprintf("Job failed: container %s exited %d.", name, code))
		} else {
			r.finish(pj, prowv1.FailureState, "Job failed: "+podReason(pod))
		}
		return ctrl.Result{}, nil
	}
	return r.checkDeadlines(ctx, c, pj, pod)
}

// revive recreates a Pod that is gone while revivals remain: the job goes back to triggered with
// its build ID, and the next reconcile creates the Pod again.
func (r *Reconciler) revive(pj *prowv1.ProwJob, what string) (ctrl.Result, error) {
	maxRevivals := r.Config().Plank.Revivals()
	if pj.Status.PodRevivalCount >= maxRevivals {
		r.finish(pj, prowv1.ErrorState, fmt.Sprintf("%s and plank.max_revivals (%d) is used up.", what, maxRevivals))
		return ctrl.Result{}, nil
	}
	pj.Status.PodRevivalCount++
	pj.Status.State, pj.Status.PendingTime = prowv1.TriggeredState, nil
	pj.Status.Description = fmt.Sprintf("%s; recreating it (revival %d of %d).", what, pj.Status.PodRevivalCount, maxRevivals)
	return ctrl.Result{}, nil
}

// checkDeadlines ends a Pod stuck unscheduled, pending or running too long, or requeues at the
// next deadline.
func (r *Reconciler) checkDeadlines(ctx context.Context, c client.Client, pj *prowv1.ProwJob, pod *corev1.Pod) (ctrl.Result, error) {
	unscheduled, pending, running := r.timeouts(pj)
	now := r.Clock.Now()
	created := pod.CreationTimestamp.Time
	var deadline time.Time
	switch {
	case pod.Status.Phase == corev1.PodPending && !scheduled(pod):
		deadline = created.Add(unscheduled)
		if !now.Before(deadline) {
			r.finish(pj, prowv1.ErrorState, fmt.Sprintf("The Pod was not scheduled within %v (pod_unscheduled_timeout).", unscheduled))
			deletePodAfterPatch(ctx)
			return ctrl.Result{}, nil
		}
	case pod.Status.Phase == corev1.PodPending:
		deadline = created.Add(pending)
		if !now.Before(deadline) {
			r.finish(pj, prowv1.ErrorState, fmt.Sprintf("The Pod did not start running within %v (pod_pending_timeout).", pending))
			deletePodAfterPatch(ctx)
			return ctrl.Result{}, nil
		}
	default:
		startedAt := created
		if pod.Status.StartTime != nil {
			startedAt = pod.Status.StartTime.Time
		}
		deadline = startedAt.Add(running)
		if !now.Before(deadline) {
			r.finish(pj, prowv1.AbortedState, fmt.Sprintf("The Pod ran longer than %v (pod_running_timeout).", running))
			deletePodAfterPatch(ctx)
			return ctrl.Result{}, nil
		}
	}
	return ctrl.Result{RequeueAfter: deadline.Sub(now)}, nil
}

func scheduled(pod *corev1.Pod) bool {
	if pod.Spec.NodeName != "" {
		return true
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// disrupted: evicted, preempted or its node lost, as the DisruptionTarget condition (or the
// kubelet's Evicted reason) says.
func disrupted(pod *corev1.Pod) bool {
	if pod.Status.Reason == "Evicted" || pod.Status.Reason == "NodeLost" {
		return true
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func allContainerStatuses(pod *corev1.Pod) []corev1.ContainerStatus {
	return append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
}

func failedContainer(pod *corev1.Pod) (int32, string) {
	for _, s := range allContainerStatuses(pod) {
		if t := s.State.Terminated; t != nil && t.ExitCode != 0 {
			return t.ExitCode, s.Name
		}
	}
	return 0, ""
}

func oomKilled(pod *corev1.Pod) string {
	for _, s := range allContainerStatuses(pod) {
		if t := s.State.Terminated; t != nil && t.Reason == "OOMKilled" {
			return s.Name
		}
	}
	return ""
}

func podReason(pod *corev1.Pod) string {
	if pod.Status.Message != "" {
		return pod.Status.Message
	}
	if pod.Status.Reason != "" {
		return pod.Status.Reason
	}
	return "the Pod failed."
}
