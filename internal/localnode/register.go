package localnode

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Start registers the Node and ends the Pods a previous run of this node left running: their
// processes died with it, so none may stay Running forever. They fail with the DisruptionTarget
// condition, as Pods of a lost node do, so Plank revives their jobs.
func (n *Node) Start(ctx context.Context) error {
	port, err := n.serveLogs(ctx)
	if err != nil {
		return err
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: map[string]string{"kubernetes.io/hostname": n.Name}}}
	if err := n.Client.Create(ctx, node); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("register node %s: %w", n.Name, err)
	}
	if err := n.Client.Get(ctx, client.ObjectKeyFromObject(node), node); err == nil {
		node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "ProwlLocalNode", LastHeartbeatTime: n.now(), LastTransitionTime: n.now()}}
		// Where the API server finds this node's log endpoint, for `kubectl logs`.
		node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: "127.0.0.1"}}
		node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
		_ = n.Client.Status().Update(ctx, node)
	}
	var pods corev1.PodList
	if err := n.Client.List(ctx, &pods, client.InNamespace(n.Namespace)); err == nil {
		for i := range pods.Items {
			p := &pods.Items[i]
			if p.Spec.NodeName == n.Name && (p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodPending) && !n.isRunning(p.UID) {
				// As for a lost node: the disruption condition tells Plank to revive the job.
				n.setStatus(ctx, p, func(s *corev1.PodStatus) {
					s.Phase, s.Reason, s.Message = corev1.PodFailed, "NodeRestarted", "The local node restarted while the Pod ran."
					s.Conditions = append(s.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
						Reason: "NodeRestarted", Message: "The local node restarted while the Pod ran.", LastTransitionTime: n.now()})
				})
			}
		}
	}
	<-ctx.Done()
	// Pods stopped by this node's own shutdown keep their status: on the next start they are
	// failed as disrupted, and their jobs revived, rather than failed for the kill.
	n.stopping.Store(true)
	n.mu.Lock()
	runs := make([]*podRun, 0, len(n.running))
	for _, r := range n.running {
		runs = append(runs, r)
	}
	n.mu.Unlock()
	for _, r := range runs {
		r.cancel()
		<-r.done
	}
	return nil
}
