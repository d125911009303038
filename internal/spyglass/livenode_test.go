package spyglass

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/prowl-ci/prowl/internal/localnode"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// startLocalNode runs the real local node over podNS in a manager of its own.
func startLocalNode(t *testing.T, ctx context.Context, podNS string) {
	t.Helper()
	prowl := testutil.ProwlBinary(t)
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: env.Scheme, Cache: cache.Options{DefaultNamespaces: map[string]cache.Config{podNS: {}}},
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	node := &localnode.Node{Name: "node-" + podNS, Namespace: podNS, Client: mgr.GetClient(), DataDir: t.TempDir(), Utilities: filepath.Dir(prowl), Self: prowl, HostFilesystem: true}
	if err := node.Setup(mgr); err != nil {
		t.Fatal(err)
	}
	go func() { _ = mgr.Start(ctx) }()
}

// waitLogged waits until the Pod's test container has written want, read through the Pod log
// API (the node serves a container's log once its process runs).
func waitLogged(t *testing.T, ctx context.Context, ns, name, want string) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		out, err := cs.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{Container: testContainer}).DoRaw(ctx)
		return err == nil && strings.Contains(string(out), want), nil
	})
	if err != nil {
		t.Fatalf("Pod %s/%s never logged %q: %v", ns, name, want, err)
	}
}

// TestLiveLogFromLocalNode: a Pod run by the real local node writes its log over time; the run
// page's stream delivers each line as the container writes it (kube-apiserver proxying to the
// node's log endpoint), and when the container has ended and the run's files are uploaded, the
// build log section is the bucket's build-log.txt.
func TestLiveLogFromLocalNode(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: the local node runs containers in mount namespaces, which needs root")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	be := fileBackend(t)
	lj, pjNS, podNS := startLiveJob(t, be, nil, "node-job", false)
	startLocalNode(t, ctx, podNS)
	if err := env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: podNS}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// The container writes a line, waits until the test lets it go on, writes another and ends.
	gate := filepath.Join(t.TempDir(), "go-on")
	script := "echo 'compiling <widgets>'; while [ ! -e " + gate + " ]; do sleep 0.05; done; echo 'ERROR: widget exploded'"
	no := false
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: lj.pj.Status.PodName, Namespace: podNS}, Spec: corev1.PodSpec{
		AutomountServiceAccountToken: &no, RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{Name: testContainer, Image: "busybox", Command: []string{"sh", "-c", script}}}}}
	if err := env.Client.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	waitLogged(t, ctx, podNS, pod.Name, "compiling")

	s := liveServer(t, be, pjNS, podNS)
	if code, page := s.get(t, "/view/prowjob/"+lj.pj.Name); code != 200 || !strings.Contains(page, `data-live="/spyglass/live/`) {
		t.Fatalf("running job's page = %d:\n%s", code, page)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/spyglass/live/prowjob/node-job/777", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("live = %v %v", resp, err)
	}
	defer resp.Body.Close()
	events := sseReader{bufio.NewReader(resp.Body)}
	if ev, data := events.next(t); ev != "line" || !strings.Contains(data, `id="L1"`) || !strings.Contains(data, "compiling &lt;widgets&gt;") {
		t.Fatalf("first event %s %s", ev, data)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if ev, data := events.next(t); ev != "line" || !strings.Contains(data, `<span class="hl">ERROR:</span>`) || !strings.Contains(data, `id="L2"`) {
		t.Fatalf("second event %s %s", ev, data)
	}
	if ev, data := events.next(t); ev != "end" || data != "the container ended" {
		t.Fatalf("end event %s %s", ev, data)
	}
	fragment := "/spyglass/buildlog/prowjob/" + lj.pj.Name
	if code, _ := s.get(t, fragment); code != http.StatusAccepted {
		t.Errorf("before the upload the fragment = %d, want 202", code)
	}
	makeRun(t, be, testRun{spec: lj.spec, log: "compiling <widgets>\nERROR: widget exploded from the bucket\n", exitCode: "1"})
	code, body := s.get(t, fragment)
	if code != 200 || !strings.Contains(body, "build-log.txt") || !strings.Contains(body, "widget exploded from the bucket") || strings.Contains(body, "data-live") {
		t.Errorf("after the upload the fragment = %d:\n%s", code, body)
	}
}
