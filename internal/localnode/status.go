package localnode

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// setStatus writes the Pod's status as the kubelet does, retrying conflicts with a fresh read.
func (n *Node) setStatus(ctx context.Context, pod *corev1.Pod, mutate func(*corev1.PodStatus)) {
	if n.Client == nil || n.stopping.Load() {
		return // prowl run has no API server; a stopping node leaves its Pods for the next start
	}
	log := ctrl.LoggerFrom(ctx).WithValues("pod", pod.Name)
	for range 5 {
		current := &corev1.Pod{}
		if err := n.Client.Get(ctx, client.ObjectKeyFromObject(pod), current); err != nil {
			if !apierrors.IsNotFound(err) {
				log.Error(err, "read the Pod to write its status")
			}
			return
		}
		from := current.Status.Phase
		mutate(&current.Status)
		err := n.Client.Status().Update(ctx, current)
		switch {
		case err == nil:
			if to := current.Status.Phase; to != from {
				log.Info("state changed", "from", from, "to", to, "reason", current.Status.Reason)
			}
			return
		case !apierrors.IsConflict(err) && !apierrors.IsNotFound(err):
			log.Error(err, "write the Pod's status")
			return
		case apierrors.IsNotFound(err):
			return
		}
	}
}
