package plank

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// kubelet plays the kubelet for tests, where none runs: it writes Pod status through the API.
type kubelet struct {
	t  *testing.T
	ns string
}

func (k kubelet) pod(name string) *corev1.Pod {
	k.t.Helper()
	pod := &corev1.Pod{}
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		return env.Client.Get(ctx, client.ObjectKey{Namespace: k.ns, Name: name}, pod) == nil, nil
	})
	if err != nil {
		k.t.Fatalf("pod %s never appeared", name)
	}
	return pod
}

func (k kubelet) setStatus(name string, mutate func(*corev1.PodStatus)) {
	k.t.Helper()
	pod := k.pod(name)
	mutate(&pod.Status)
	if err := env.Client.Status().Update(context.Background(), pod); err != nil {
		k.t.Fatalf("update pod %s status: %v", name, err)
	}
}

func terminated(names []string, code int32, reason string) []corev1.ContainerStatus {
	var out []corev1.ContainerStatus
	for _, n := range names {
		out = append(out, corev1.ContainerStatus{Name: n, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}}})
	}
	return out
}

func containerNames(pod *corev1.Pod) []string {
	var n []string
	for _, c := range pod.Spec.Containers {
		n = append(n, c.Name)
	}
	return n
}

func (k kubelet) schedule(name string) {
	k.setStatus(name, func(s *corev1.PodStatus) {
		s.Phase = corev1.PodPending
		s.Conditions = append(s.Conditions, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()})
	})
}

func (k kubelet) run(name string, started time.Time) {
	k.setStatus(name, func(s *corev1.PodStatus) {
		s.Phase = corev1.PodRunning
		t := metav1.NewTime(started)
		s.StartTime = &t
		s.Conditions = append(s.Conditions, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()})
	})
}

func (k kubelet) exit(name string, code int32) {
	pod := k.pod(name)
	k.setStatus(name, func(s *corev1.PodStatus) {
		s.Phase = corev1.PodSucceeded
		if code != 0 {
			s.Phase = corev1.PodFailed
		}
		s.ContainerStatuses = terminated(containerNames(pod), 0, "Completed")
		if code != 0 {
			s.ContainerStatuses[0].State.Terminated.ExitCode, s.ContainerStatuses[0].State.Terminated.Reason = code, "Error"
		}
	})
}

func (k kubelet) oomKill(name string) {
	pod := k.pod(name)
	k.setStatus(name, func(s *corev1.PodStatus) {
		s.Phase = corev1.PodFailed
		s.ContainerStatuses = terminated(containerNames(pod), 137, "OOMKilled")
	})
}

func (k kubelet) evict(name string) {
	k.setStatus(name, func(s *corev1.PodStatus) {
		s.Phase, s.Reason, s.Message = corev1.PodFailed, "Evicted", "The node was low on resource: memory."
		s.Conditions = append(s.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "TerminationByKubelet", LastTransitionTime: metav1.Now()})
	})
}

// remove deletes the Pod outright, as a node's disappearance can.
func (k kubelet) remove(name string) {
	k.t.Helper()
	pod := k.pod(name)
	zero := int64(0)
	if err := env.Client.Delete(context.Background(), pod, &client.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		k.t.Fatal(err)
	}
}
