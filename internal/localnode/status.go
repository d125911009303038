package localnode

import (
	"context"
	"math"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/prowl-ci/prowl/internal/backoff"
)

// statusBackoff spaces the tries of a status write the API server did not take (it restarts, say):
// 100 ms doubling to 5 s, for as long as the node runs. The kubelet's status manager likewise
// keeps a Pod's status until the API server has it: a final phase written once and lost would
// leave the Pod Running forever, and its job with it.
func statusBackoff() wait.Backoff {
	return wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Cap: 5 * time.Second, Steps: math.MaxInt32}
}

// setStatus writes the Pod's status as the kubelet does: on a fresh read (a conflict reads it again
// at once), tried again after statusBackoff while the API server fails, until it is written, the
// Pod is gone, ctx ends or the node stops.
func (n *Node) setStatus(ctx context.Context, pod *corev1.Pod, mutate func(*corev1.PodStatus)) {
	if n.Client == nil {
		return // prowl run has no API server
	}
	log := ctrl.LoggerFrom(ctx).WithValues("pod", pod.Name)
	failures := 0
	_ = backoff.Retry(ctx, n.clk(), statusBackoff(), func(ctx context.Context) (bool, error) {
		err := n.writeStatus(ctx, pod, mutate, log)
		switch {
		case err == nil, apierrors.IsNotFound(err):
			return true, nil
		case failures == 0:
			log.Error(err, "write the Pod's status; trying again until the API server takes it")
		}
		failures++
		return false, nil
	})
}

// writeStatus reads the Pod and writes its status once, reading it again on a conflict (five
// times at most). A stopping node writes nothing: it leaves its Pods for the next start.
func (n *Node) writeStatus(ctx context.Context, pod *corev1.Pod, mutate func(*corev1.PodStatus), log logr.Logger) error {
	var err error
	for range 5 {
		if n.stopping.Load() {
			return nil
		}
		current := &corev1.Pod{}
		if err = n.Client.Get(ctx, client.ObjectKeyFromObject(pod), current); err != nil {
			return err
		}
		from := current.Status.Phase
		mutate(&current.Status)
		if err = n.Client.Status().Update(ctx, current); err == nil {
			if to := current.Status.Phase; to != from {
				log.Info("state changed", "from", from, "to", to, "reason", current.Status.Reason)
			}
			return nil
		}
		if !apierrors.IsConflict(err) {
			return err
		}
	}
	return err
}
