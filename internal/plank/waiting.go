package plank

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// waitingReasons says what a Pending Pod's containers wait on, as `kubectl describe` shows it
// (" Container test: ErrImagePull: ..."), so that a job ended by pod_pending_timeout names the
// image it could not pull. Containers merely being created are left out; "" when none is left.
func waitingReasons(pod *corev1.Pod) string {
	var b strings.Builder
	for _, s := range append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		w := s.State.Waiting
		if w == nil || w.Reason == "" || w.Reason == "ContainerCreating" || w.Reason == "PodInitializing" {
			continue
		}
		fmt.Fprintf(&b, " Container %s: %s: %s", s.Name, w.Reason, w.Message)
	}
	return b.String()
}
