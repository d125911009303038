package localnode

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Reconcile binds an unscheduled Pod, starts a bound one, and stops and removes a deleted one.
func (n *Node) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	pod := &corev1.Pod{}
	if err := n.Client.Get(ctx, req.NamespacedName, pod); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	switch {
	case pod.DeletionTimestamp != nil:
		if !n.isRunning(pod.UID) {
			return ctrl.Result{}, n.remove(ctx, pod)
		}
		// Stopping takes up to the grace period: it must not hold up the Pods behind it.
		if _, already := n.terminating.LoadOrStore(pod.UID, true); !already {
			ctx := context.WithoutCancel(ctx) // outlives this reconcile
			go func() {
				defer n.terminating.Delete(pod.UID)
				n.stop(pod)
				if err := n.remove(ctx, pod); err != nil {
					ctrl.LoggerFrom(ctx).Error(err, "remove deleted pod", "pod", pod.Name)
				}
			}()
		}
		return ctrl.Result{}, nil
	case pod.Spec.NodeName == "":
		binding := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID}, Target: corev1.ObjectReference{Kind: "Node", Name: n.Name}}
		if err := n.Client.SubResource("binding").Create(ctx, pod, binding); err != nil && !apierrors.IsConflict(err) {
			return ctrl.Result{}, fmt.Errorf("bind pod %s: %w", pod.Name, err)
		}
		n.bound.Store(pod.UID, n.clk().Now())
		return ctrl.Result{}, nil
	case pod.Spec.NodeName == n.Name && (pod.Status.Phase == "" || pod.Status.Phase == corev1.PodPending) && !n.isRunning(pod.UID):
		n.warned.Do(func() {
			if n.HostFilesystem {
				ctrl.LoggerFrom(ctx).Info("the local node does not pull images (host filesystem): containers run on this machine's filesystem")
			}
		})
		n.start(ctx, pod.DeepCopy())
	}
	return ctrl.Result{}, nil
}

// remove drops a deleted Pod's writable layers and confirms its deletion, as the kubelet does once
// its containers are gone. A Pod deleted before it ended gets phase Failed first, as the kubelet
// gives one: whoever holds it with a finalizer (the artifact completer, waiting for a sidecar to
// upload) sees at once that nothing runs there any more, rather than wait out its grace.
func (n *Node) remove(ctx context.Context, pod *corev1.Pod) error {
	if pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
		n.setStatus(ctx, pod, func(s *corev1.PodStatus) {
			if s.Phase != corev1.PodSucceeded && s.Phase != corev1.PodFailed {
				s.Phase, s.Reason, s.Message = corev1.PodFailed, "Deleted", "The Pod was deleted before it ended."
			}
		})
	}
	n.removeLayers(string(pod.UID))
	zero := int64(0)
	return client.IgnoreNotFound(n.Client.Delete(ctx, pod, &client.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &pod.UID}}))
}
