package localnode

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/jobs"
	"github.com/prowl-ci/prowl/internal/plank"
	"github.com/prowl-ci/prowl/internal/testutil"
	"github.com/prowl-ci/prowl/internal/testutil/seedconfig"
)

// TestPullFailureStatusOnAPIServer: the real local node, over a real API server, is given a Pod
// whose image the loopback registry does not have and a Pod whose image is not cached with
// policy Never. Read back from the API server, the first's container is Waiting in ErrImagePull
// naming the image, then (after half the back-off on the node's clock) in ImagePullBackOff; the
// second's is Waiting in ErrImageNeverPull at once, with no step of the clock. Then Plank, in the
// same manager, runs a ProwJob whose image is missing: the job ends in error once its
// pod_pending_timeout has passed, its description naming the image and the registry's reason.
func TestPullFailureStatusOnAPIServer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: the local node runs containers in mount namespaces, which needs root")
	}
	host := testRegistry(t)
	push(t, host, "busybox:1", busyboxImage(t)) // skips where /bin/busybox is absent
	missing := host + "/busybox:missing"

	env, err := testutil.StartEnv()
	if err != nil {
		t.Fatalf("start a control plane: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	ns := env.Namespace(t, "pullstatus")
	if err := env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}

	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: env.Scheme, Cache: cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktesting.NewFakeClock(time.Unix(1_700_000_000, 0))
	n := &Node{Name: "node-" + ns, Namespace: ns, Client: mgr.GetClient(), DataDir: t.TempDir(), Clock: clk}
	if err := n.Setup(mgr); err != nil {
		t.Fatal(err)
	}
	// Plank's clock is the real one: its pending deadline is a requeue at a real time.
	cfg := seedconfig.Load(t, ns, "  pod_pending_timeout: 2s\n", "")
	ids, err := jobs.NewBuildIDs(1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plank.Setup(ctx, mgr, plank.Options{Config: func() *config.Config { return cfg }, Clock: clock.RealClock{}, BuildIDs: ids}); err != nil {
		t.Fatal(err)
	}
	mgrDone := make(chan struct{})
	go func() { defer close(mgrDone); _ = mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-mgrDone })

	no := false
	create := func(name string, c corev1.Container) *corev1.Pod {
		t.Helper()
		c.Name, c.Command = "test", []string{"true"}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: corev1.PodSpec{
			AutomountServiceAccountToken: &no, RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{c}}}
		if err := env.Client.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
		return pod
	}
	// waitFor reads the Pod from the API server until its test container waits for reason.
	waitFor := func(pod *corev1.Pod, reason string) *corev1.ContainerStateWaiting {
		t.Helper()
		var w *corev1.ContainerStateWaiting
		var last corev1.PodStatus
		err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			got := &corev1.Pod{}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(pod), got); err != nil {
				return false, err
			}
			last = got.Status
			for _, cs := range got.Status.ContainerStatuses {
				if cs.Name == "test" && cs.State.Waiting != nil && cs.State.Waiting.Reason == reason {
					w = cs.State.Waiting
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			t.Fatalf("Pod %s's container never waited in %s: %v; last status %+v", pod.Name, reason, err, last)
		}
		return w
	}

	never := create("never", corev1.Container{Image: host + "/not-cached:1", ImagePullPolicy: corev1.PullNever})
	w := waitFor(never, "ErrImageNeverPull")
	if !strings.Contains(w.Message, host+"/not-cached:1") || !strings.Contains(w.Message, "pull policy of Never") {
		t.Errorf("ErrImageNeverPull message %q; want it to name the image and the policy", w.Message)
	}

	absent := create("absent", corev1.Container{Image: missing, ImagePullPolicy: corev1.PullIfNotPresent})
	w = waitFor(absent, "ErrImagePull")
	if !strings.Contains(w.Message, missing) || !strings.Contains(w.Message, "MANIFEST_UNKNOWN") {
		t.Errorf("ErrImagePull message %q; want it to name %s and the registry's MANIFEST_UNKNOWN", w.Message, missing)
	}
	// The node now waits half the back-off on its clock before writing ImagePullBackOff; the
	// never Pod's retry waits on it too. Step past half the first back-off once both wait.
	if err := wait.PollUntilContextTimeout(ctx, time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		return clk.Waiters() >= 2, nil
	}); err != nil {
		t.Fatalf("the node never waited on its clock after the failed pull: %v", err)
	}
	clk.Step(pullBackoffInitial / 2)
	w = waitFor(absent, "ImagePullBackOff")
	if !strings.Contains(w.Message, `Back-off pulling image "`+missing+`"`) {
		t.Errorf("ImagePullBackOff message %q; want it to name %s", w.Message, missing)
	}
	got := &corev1.Pod{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(absent), got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase == corev1.PodFailed || got.Status.Phase == corev1.PodSucceeded {
		t.Errorf("a Pod whose image is not there yet ended: phase %s; the kubelet keeps it Pending", got.Status.Phase)
	}
	missingJobEndsInError(ctx, t, env, ns, host+"/busybox:gone")
}

// missingJobEndsInError creates a ProwJob whose image is not in the registry and waits for
// Plank to end it in error at its pending timeout, with a description that names the image.
func missingJobEndsInError(ctx context.Context, t *testing.T, env *testutil.Env, ns, image string) {
	t.Helper()
	pj := &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Name: "missing-image", Namespace: ns}, Spec: prowv1.ProwJobSpec{
		Type: prowv1.PeriodicJob, Agent: prowv1.KubernetesAgent, Cluster: prowv1.DefaultClusterAlias, Namespace: ns, Job: "missing-image",
		PodSpec: &corev1.PodSpec{Containers: []corev1.Container{{Image: image, Command: []string{"true"}}}}}}
	if err := env.Client.Create(ctx, pj); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(pj), pj); err != nil {
			return false, err
		}
		return pj.Complete(), nil
	})
	if err != nil {
		t.Fatalf("the job of a missing image never ended: %v; status %+v", err, pj.Status)
	}
	d := pj.Status.Description
	if pj.Status.State != prowv1.ErrorState || !strings.Contains(d, "pod_pending_timeout") || !strings.Contains(d, image) || !strings.Contains(d, "MANIFEST_UNKNOWN") {
		t.Errorf("the job of a missing image ended %s: %q; want error at pod_pending_timeout naming %s and MANIFEST_UNKNOWN", pj.Status.State, d, image)
	}
	t.Logf("job of a missing image: %s: %s", pj.Status.State, d)
}
