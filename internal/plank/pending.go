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
func (r *Reconciler) syncPending(ctx context.Context, pj *prowv1.ProwJob) (outcome, error) {
	c, ok := r.cluster(pj)
	if !ok {
		return r.unknownCluster(pj)
	}
	pod := &corev1.Pod{}
	key := client.ObjectKey{Namespace: pj.Spec.Namespace, Name: pj.Status.PodName}
	err := c.Get(ctx, key, pod)
	if apierrors.IsNotFound(err) {
		// The cache may not have seen a Pod created a moment ago (the ProwJob's and the Pods'
		// watches run apart): only the API server can say that it is gone.
		err = r.liveReader(pj).Get(ctx, key, pod)
	}
	if apierrors.IsNotFound(err) {
		return r.revive(ctx, pj, "The Pod disappeared", "%[1]s and plank.max_revivals (%[2]d) is used up.", false), nil
	}
	if err != nil {
		return outcome{}, fmt.Errorf("get pod %s: %w", pj.Status.PodName, err)
	}
	if pod.DeletionTimestamp != nil {
		// Someone is deleting it; its disappearance requeues the job.
		return outcome{}, nil
	}
	switch {
	case disrupted(pod):
		if pj.Spec.ErrorOnEviction {
			r.finish(pj, prowv1.ErrorState, "The Pod was evicted or its node lost, and the job sets error_on_eviction.")
			return outcome{deletePod: true}, nil
		}
		return r.revive(ctx, pj, "The Pod was evicted or its node lost", "%[1]s %[3]d times; plank.max_revivals is %[2]d.", true), nil
	case pod.Status.Phase == corev1.PodSucceeded:
		if code, name := failedContainer(pod); code != 0 {
			r.finish(pj, prowv1.FailureState, fmt.Sprintf("Job failed: container %s exited %d.", name, code))
		} else {
			r.finish(pj, prowv1.SuccessState, "Job succeeded.")
		}
		return outcome{}, nil
	case pod.Status.Phase == corev1.PodFailed:
		if name := oomKilled(pod); name != "" {
			r.finish(pj, prowv1.ErrorState, fmt.Sprintf("Container %s ran out of memory (OOMKilled).", name))
			return outcome{}, nil
		}
		if code, name := failedContainer(pod); code != 0 {
			r.finish(pj, prowv1.FailureState, fmt.Sprintf("Job failed: container %s exited %d.", name, code))
		} else {
			r.finish(pj, prowv1.FailureState, "Job failed: "+podReason(pod))
		}
		return outcome{}, nil
	}
	return r.checkDeadlines(pj, pod), nil
}

// revive recreates a Pod that is gone or disrupted while revivals remain: the job goes back to
// triggered with its build ID, and the next reconcile creates the Pod again. Past
// plank.max_revivals the job ends in error, described by usedUp (a format of what, the maximum
// and the count of losses). deletePod says whether what is left of the Pod must go first.
func (r *Reconciler) revive(ctx context.Context, pj *prowv1.ProwJob, what, usedUp string, deletePod bool) outcome {
	maxRevivals := r.Config().Plank.Revivals()
	if pj.Status.PodRevivalCount >= maxRevivals {
		r.finish(pj, prowv1.ErrorState, fmt.Sprintf(usedUp, what, maxRevivals, pj.Status.PodRevivalCount+1))
		return outcome{deletePod: deletePod}
	}
	pj.Status.PodRevivalCount++
	logr.FromContextOrDiscard(ctx).Info("recreating the Pod", "reason", what, "revival", pj.Status.PodRevivalCount)
	pj.Status.State, pj.Status.PendingTime = prowv1.TriggeredState, nil
	pj.Status.Description = fmt.Sprintf("%s; recreating it (revival %d of %d).", what, pj.Status.PodRevivalCount, maxRevivals)
	return outcome{deletePod: deletePod}
}

// checkDeadlines ends a Pod stuck unscheduled, pending or running too long, or requeues at the
// next deadline.
func (r *Reconciler) checkDeadlines(pj *prowv1.ProwJob, pod *corev1.Pod) outcome {
	unscheduled, pending, running := r.timeouts(pj)
	now := r.Clock.Now()
	created := pod.CreationTimestamp.Time
	var deadline time.Time
	var state prowv1.ProwJobState
	var description string
	switch {
	case pod.Status.Phase == corev1.PodPending && !scheduled(pod):
		deadline, state = created.Add(unscheduled), prowv1.ErrorState
		description = fmt.Sprintf("The Pod was not scheduled within %v (pod_unscheduled_timeout).", unscheduled)
	case pod.Status.Phase == corev1.PodPending:
		deadline, state = created.Add(pending), prowv1.ErrorState
		description = fmt.Sprintf("The Pod did not start running within %v (pod_pending_timeout).", pending) + waitingReasons(pod)
	default:
		startedAt := created
		if pod.Status.StartTime != nil {
			startedAt = pod.Status.StartTime.Time
		}
		deadline, state = startedAt.Add(running), prowv1.AbortedState
		description = fmt.Sprintf("The Pod ran longer than %v (pod_running_timeout).", running)
	}
	if !now.Before(deadline) {
		r.finish(pj, state, description)
		return outcome{deletePod: true}
	}
	return outcome{Result: ctrl.Result{RequeueAfter: deadline.Sub(now)}}
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
