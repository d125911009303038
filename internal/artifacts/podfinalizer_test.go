package artifacts

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	prowlconfig "github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/jobs"
	"github.com/prowl-ci/prowl/internal/plank"
	"github.com/prowl-ci/prowl/internal/testutil/seedconfig"
)

// running starts Plank, and the completer in a manager of its own, creates a run of a periodic
// whose artifacts go to a file bucket, and waits until Plank has created its Pod and the Pod
// holds the pod-info finalizer. It returns the bucket, the ProwJob, the config and a function
// that stops the completer.
func (h *harness) running(job string) (string, *prowv1.ProwJob, *prowlconfig.Config, func()) {
	h.t.Helper()
	bucket := "file://" + h.t.TempDir()
	cfg := seedconfig.Load(h.t, h.ns, "", `periodics:
- name: `+job+`
  interval: 1h
  decorate: true
  decoration_config: {gcs_configuration: {bucket: "`+bucket+`", path_strategy: explicit}}
  spec: {containers: [{image: alpine, command: ["true"]}]}
`)
	get := func() *prowlconfig.Config { return cfg }
	h.manager(cfg, false, func(ctx context.Context, mgr ctrl.Manager) error {
		_, err := plank.Setup(ctx, mgr, plank.Options{Config: get, Clock: h.clock, BuildIDs: h, Workers: 2})
		return err
	})
	stop := h.manager(cfg, true, nil)
	pj := jobs.NewBuilder(cfg).Periodic(&cfg.Periodics[0])
	if err := jobs.Create(context.Background(), env.Client, pj); err != nil {
		h.t.Fatal(err)
	}
	h.waitPod(pj.Name, func(pod *corev1.Pod) bool { return slices.Contains(pod.Finalizers, prowv1.PodInfoFinalizer) })
	return bucket, pj, cfg, stop
}

// setPod changes the Pod's status, as a kubelet does, retrying on a conflict.
func (h *harness) setPod(pod *corev1.Pod, change func(*corev1.Pod)) {
	h.t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
			return false, err
		}
		change(pod)
		return env.Client.Status().Update(ctx, pod) == nil, nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// waitPod waits until the Pod exists and ok holds for it, and returns it.
func (h *harness) waitPod(name string, ok func(*corev1.Pod) bool) *corev1.Pod {
	h.t.Helper()
	pod := &corev1.Pod{}
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return env.Client.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: name}, pod) == nil && ok(pod), nil
	})
	if err != nil {
		h.t.Fatalf("pod %s: %+v %+v", name, pod.ObjectMeta, pod.Status)
	}
	return pod
}

// waitPodGone waits until the Pod (this one, by UID) is gone from the API server.
func (h *harness) waitPodGone(pod *corev1.Pod) {
	h.t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		cur := &corev1.Pod{}
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(pod), cur)
		return apierrors.IsNotFound(err) || (err == nil && cur.UID != pod.UID), nil
	})
	if err != nil {
		h.t.Fatalf("pod %s was never removed: the finalizer stayed", pod.Name)
	}
}

// update changes the ProwJob's status, as Deck's abort does, retrying on a conflict.
func (h *harness) update(name string, change func(*prowv1.ProwJob)) {
	h.t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		pj := &prowv1.ProwJob{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: name}, pj); err != nil {
			return false, err
		}
		change(pj)
		return env.Client.Status().Update(ctx, pj) == nil, nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// TestPodInfoOfAPodDeletedAtOnce: a user aborts a running job; Plank stores the end and deletes
// the Pod at once. With the completer down meanwhile (so that it cannot read the Pod before the
// delete), the finalizer keeps the Pod; the completer, started again, writes podinfo.json with
// it and lets it go.
func TestPodInfoOfAPodDeletedAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	bucket, pj, cfg, stop := h.running("aborted-at-once")
	stop()
	h.update(pj.Name, func(pj *prowv1.ProwJob) {
		pj.Status.State, pj.Status.Description = prowv1.AbortedState, "Aborted by a user."
	})
	// Plank deletes the Pod; the kubelet stops its containers (envtest has none: the test does).
	pod := h.waitPod(pj.Name, func(pod *corev1.Pod) bool { return pod.DeletionTimestamp != nil })
	h.setPod(pod, func(pod *corev1.Pod) {
		pod.Status.Phase = corev1.PodFailed
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "test", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 143, Reason: "Error"}}}}
	})
	h.manager(cfg, true, nil)
	done := h.waitDone(pj.Name)
	h.waitPodGone(pod)
	files := h.files(bucket, done)
	var info PodReport
	if err := json.Unmarshal([]byte(files[PodInfoFile]), &info); err != nil {
		t.Fatalf("podinfo.json: %v\nfiles %v", err, names(files))
	}
	if info.Pod == nil || info.Pod.UID != pod.UID || info.Pod.DeletionTimestamp == nil || info.Pod.Status.Phase != corev1.PodFailed {
		t.Errorf("podinfo.json does not hold the deleted Pod: %s", files[PodInfoFile])
	}
	if !strings.Contains(files[FinishedFile], `"result": "ABORTED"`) {
		t.Errorf("finished.json: %s", files[FinishedFile])
	}
}

// TestRevivalIsNotHeldUp: a Pod deleted while its job runs is not needed (Plank recreates it
// under the same name), so the finalizer goes at once and the job is revived.
func TestRevivalIsNotHeldUp(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, pj, _, _ := h.running("revived")
	first := h.waitPod(pj.Name, func(*corev1.Pod) bool { return true })
	if err := env.Client.Delete(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	h.waitPodGone(first)
	second := h.waitPod(pj.Name, func(pod *corev1.Pod) bool {
		return pod.UID != first.UID && slices.Contains(pod.Finalizers, prowv1.PodInfoFinalizer)
	})
	cur := &prowv1.ProwJob{}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(pj), cur); err != nil {
		t.Fatal(err)
	}
	if cur.Status.PodRevivalCount != 1 || cur.Complete() {
		t.Errorf("after the Pod was deleted: %+v (new Pod %s)", cur.Status, second.UID)
	}
}

// TestOrphanIsReleased: a Pod whose ProwJob is deleted is not needed; the finalizer goes, so
// Sinker's delete of the orphan removes it.
func TestOrphanIsReleased(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, pj, _, _ := h.running("orphaned")
	if err := env.Client.Delete(context.Background(), pj); err != nil {
		t.Fatal(err)
	}
	pod := h.waitPod(pj.Name, func(pod *corev1.Pod) bool { return !slices.Contains(pod.Finalizers, prowv1.PodInfoFinalizer) })
	if err := env.Client.Delete(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	h.waitPodGone(pod)
}
