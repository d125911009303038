package localnode

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/prowl-ci/prowl/internal/testutil"
)

// node is a Node for RunOnce on the host's filesystem, re-running a prowl binary built once for
// the test process.
func node(t *testing.T) *Node {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: the local node runs containers in mount namespaces, which needs root")
	}
	prowlBin := testutil.ProwlBinary(t)
	return &Node{Name: "test", DataDir: t.TempDir(), Utilities: filepath.Dir(prowlBin), Self: prowlBin, HostFilesystem: true}
}

// TestRunOnceMountsVolumesInOrder: an init container writes into an emptyDir mounted at a path
// that does not exist on the host, and the container reads it there; output streams.
func TestRunOnceMountsVolumesInOrder(t *testing.T) {
	n := node(t)
	var out strings.Builder
	n.Stream = &out
	mountPath := "/prowl-localnode-test-" + filepath.Base(t.TempDir())
	t.Cleanup(func() { _ = os.Remove(mountPath) })
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{
		Volumes: []corev1.Volume{{Name: "shared", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		InitContainers: []corev1.Container{{Name: "init", Command: []string{"sh", "-c", "echo from-init > " + mountPath + "/msg"},
			VolumeMounts: []corev1.VolumeMount{{Name: "shared", MountPath: mountPath}}}},
		Containers: []corev1.Container{{Name: "test", Command: []string{"sh", "-c", "cat " + mountPath + "/msg; echo $GREETING"},
			Env:          []corev1.EnvVar{{Name: "GREETING", Value: "hello"}},
			VolumeMounts: []corev1.VolumeMount{{Name: "shared", MountPath: mountPath}}}},
	}}
	if phase := n.RunOnce(context.Background(), pod); phase != corev1.PodSucceeded {
		t.Fatalf("phase %s", phase)
	}
	if got := out.String(); got != "from-init\nhello\n" {
		t.Errorf("test container printed %q", got)
	}
	if entries, _ := os.ReadDir(mountPath); len(entries) != 0 {
		t.Errorf("the volume's content leaked to the host's %s: %v", mountPath, entries)
	}
}

func TestRunOnceFailuresAndDeadline(t *testing.T) {
	n := node(t)
	failing := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "f"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "test", Command: []string{"sh", "-c", "exit 3"}}}}}
	if phase := n.RunOnce(context.Background(), failing); phase != corev1.PodFailed {
		t.Errorf("exit 3: phase %s", phase)
	}
	deadline := int64(1)
	slow := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Spec: corev1.PodSpec{ActiveDeadlineSeconds: &deadline,
		Containers: []corev1.Container{{Name: "test", Command: []string{"sleep", "60"}}}}}
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	n.Clock = clk
	phase := make(chan corev1.PodPhase, 1)
	go func() { phase <- n.RunOnce(context.Background(), slow) }()
	if err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return clk.HasWaiters(), nil
	}); err != nil {
		t.Fatal("the Pod's active deadline was never set on the node's clock")
	}
	clk.Step(time.Second) // the deadline passes; sleep 60 has 59 s to go
	select {
	case p := <-phase:
		if p != corev1.PodFailed {
			t.Errorf("past activeDeadlineSeconds: phase %s", p)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the Pod ran on past its deadline")
	}
	n.Clock = nil
	noCommand := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "test", Image: "alpine"}}}}
	if phase := n.RunOnce(context.Background(), noCommand); phase != corev1.PodFailed {
		t.Errorf("no command: phase %s", phase)
	}
}

// TestDeletedPodStartsNoMoreContainers: a Pod deleted while an init container runs (one that
// exits 0 on SIGTERM, as initupload may) starts neither its next init container nor its
// containers; the kubelet starts none in a Pod it is stopping.
func TestDeletedPodStartsNoMoreContainers(t *testing.T) {
	n := node(t)
	n.running = map[types.UID]*podRun{}
	dir := t.TempDir()
	grace := int64(30)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "deleted", UID: "deleted-uid"}, Spec: corev1.PodSpec{
		TerminationGracePeriodSeconds: &grace,
		InitContainers: []corev1.Container{
			{Name: "first", Command: []string{"sh", "-c", "trap 'exit 0' TERM; touch " + dir + "/first; sleep 30 & wait"}},
			{Name: "second", Command: []string{"touch", dir + "/second"}},
		},
		Containers: []corev1.Container{{Name: "test", Command: []string{"touch", dir + "/test"}}},
	}}
	n.start(context.Background(), pod)
	if err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		_, err := os.Stat(filepath.Join(dir, "first"))
		return err == nil, nil
	}); err != nil {
		t.Fatal("the first init container never ran")
	}
	n.stop(pod) // returns once the Pod's run ended
	for _, name := range []string{"second", "test"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("container %s started after the Pod's deletion began", name)
		}
	}
}

// TestFinalStatusOutlivesAPIServerErrors: the API server refuses the write of a Pod's final phase
// twice (it restarts, say); the node writes it again until it is taken, rather than leave the Pod
// Running forever.
func TestFinalStatusOutlivesAPIServerErrors(t *testing.T) {
	n := node(t)
	n.running = map[types.UID]*podRun{}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "test-pods", UID: "p-uid"}, Spec: corev1.PodSpec{
		NodeName: "test", Containers: []corev1.Container{{Name: "test", Command: []string{"true"}}}}}
	refused := 0
	n.Client = fake.NewClientBuilder().WithObjects(pod.DeepCopy()).WithStatusSubresource(&corev1.Pod{}).WithInterceptorFuncs(interceptor.Funcs{
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			if p, ok := obj.(*corev1.Pod); ok && p.Status.Phase == corev1.PodSucceeded && refused < 2 {
				refused++
				return apierrors.NewServiceUnavailable("the API server is restarting")
			}
			return c.SubResource(sub).Update(ctx, obj, opts...)
		},
	}).Build()
	n.start(context.Background(), pod)
	var got corev1.Pod
	if err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := n.Client.Get(ctx, client.ObjectKeyFromObject(pod), &got); err != nil {
			return false, err
		}
		return got.Status.Phase == corev1.PodSucceeded, nil
	}); err != nil {
		t.Fatalf("the Pod's final phase was never written: phase %q after %d refusals", got.Status.Phase, refused)
	}
}

// TestDeletedBeforeItRanFails: a Pod deleted before the node ran it, and held by a finalizer, is
// given phase Failed as the node lets it go, so that the finalizer's holder (the artifact
// completer) does not wait for containers that will never end.
func TestDeletedBeforeItRanFails(t *testing.T) {
	n := &Node{Name: "test", DataDir: t.TempDir(), running: map[types.UID]*podRun{}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "test-pods", UID: "p-uid", Finalizers: []string{"example.com/keep"}},
		Spec: corev1.PodSpec{NodeName: "test", Containers: []corev1.Container{{Name: "test", Command: []string{"true"}}}}}
	n.Client = fake.NewClientBuilder().WithObjects(pod).WithStatusSubresource(&corev1.Pod{}).Build()
	ctx := context.Background()
	if err := n.Client.Delete(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(pod)}); err != nil {
		t.Fatal(err)
	}
	var got corev1.Pod
	if err := n.Client.Get(ctx, client.ObjectKeyFromObject(pod), &got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != corev1.PodFailed {
		t.Errorf("a Pod deleted before it ran: phase %q, want Failed", got.Status.Phase)
	}
}
