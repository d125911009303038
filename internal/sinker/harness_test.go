package sinker

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/events"
	"github.com/prowl-ci/prowl/internal/testutil/seedconfig"
)

// harness is one test's namespace (the same name in both API servers, for ProwJobs and Pods),
// its config and a fake clock set far after the objects' creation.
type harness struct {
	t     *testing.T
	ns    string
	cfg   *config.Config
	clock *clocktesting.FakeClock
	// clients by build cluster alias
	clients map[string]client.Client
}

// The sinker config of the tests: distinct ages so that each rule is seen alone.
const (
	maxProwJobAge = 168 * time.Hour
	maxPodAge     = 48 * time.Hour
	podTTL        = 24 * time.Hour
)

func newHarness(t *testing.T) *harness {
	t.Helper()
	ns := env.Namespace(t, "sinker")
	if err := east.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	cfg := seedconfig.Load(t, ns, "", "periodics:\n- name: nightly\n  interval: 24h\n  spec:\n    containers:\n    - image: alpine\n      command: [\"true\"]\n")
	cfg.Sinker.MaxProwJobAge = &metav1.Duration{Duration: maxProwJobAge}
	cfg.Sinker.MaxPodAge = &metav1.Duration{Duration: maxPodAge}
	cfg.Sinker.TerminatedPodTTL = &metav1.Duration{Duration: podTTL}
	// Everything the test creates is "now" on the API server; the fake clock is 300 h later.
	return &harness{t: t, ns: ns, cfg: cfg, clock: clocktesting.NewFakeClock(time.Now().Add(300 * time.Hour)),
		clients: map[string]client.Client{prowv1.DefaultClusterAlias: env.Client, "east": east.Client}}
}

// ago is a time d before the fake clock's now.
func (h *harness) ago(d time.Duration) *metav1.Time {
	t := metav1.NewTime(h.clock.Now().Add(-d))
	return &t
}

// prowJob creates a ProwJob of type typ and job name job, started start ago, completed
// completed ago (0: not complete).
func (h *harness) prowJob(name, job string, typ prowv1.ProwJobType, start, completed time.Duration) {
	h.t.Helper()
	pj := &prowv1.ProwJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.ns, Labels: map[string]string{prowv1.CreatedByProw: "true"}},
		Spec:       prowv1.ProwJobSpec{Type: typ, Agent: prowv1.KubernetesAgent, Job: job, Namespace: h.ns},
	}
	ctx := context.Background()
	if err := env.Client.Create(ctx, pj); err != nil {
		h.t.Fatal(err)
	}
	pj.Status = prowv1.ProwJobStatus{State: prowv1.PendingState, StartTime: *h.ago(start)}
	if completed > 0 {
		pj.Status.State, pj.Status.CompletionTime = prowv1.SuccessState, h.ago(completed)
	}
	if err := env.Client.Status().Update(ctx, pj); err != nil {
		h.t.Fatal(err)
	}
}

// pod creates a Pod made by Prow in cluster, started start ago (0: not started), belonging to
// the ProwJob id by its label ("" for none: by its name).
func (h *harness) pod(cluster, name, id string, start time.Duration) {
	h.t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.ns, Labels: map[string]string{prowv1.CreatedByProw: "true"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "test", Image: "alpine"}}},
	}
	if id != "" {
		pod.Labels[prowv1.IDLabel] = id
	}
	ctx := context.Background()
	c := h.clients[cluster]
	if err := c.Create(ctx, pod); err != nil {
		h.t.Fatal(err)
	}
	if start > 0 {
		pod.Status.StartTime = h.ago(start)
		if err := c.Status().Update(ctx, pod); err != nil {
			h.t.Fatal(err)
		}
	}
}

// otherPod creates a Pod not made by Prow, which Sinker never touches.
func (h *harness) otherPod(cluster, name string) {
	h.t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "test", Image: "alpine"}}}}
	if err := h.clients[cluster].Create(context.Background(), pod); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) exists(cluster string, obj client.Object, name string) bool {
	h.t.Helper()
	err := h.clients[cluster].Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: name}, obj)
	if err != nil && !apierrors.IsNotFound(err) {
		h.t.Fatal(err)
	}
	return err == nil
}

func (h *harness) prowJobExists(name string) bool {
	return h.exists(prowv1.DefaultClusterAlias, &prowv1.ProwJob{}, name)
}

func (h *harness) podExists(cluster, name string) bool { return h.exists(cluster, &corev1.Pod{}, name) }

// run starts Sinker (see start) and returns its first pass's result.
func (h *harness) run(o Options, extra map[string]*rest.Config) Result {
	h.t.Helper()
	select {
	case r := <-h.start(o, extra):
		return r
	case <-time.After(2 * time.Minute):
		h.t.Fatal("no pass within 2 minutes")
	}
	return Result{}
}

// start starts a manager with Sinker set up by o (Config, Clock and the build cluster east filled
// in, plus extra clusters); each pass's result comes on the channel.
func (h *harness) start(o Options, extra map[string]*rest.Config) <-chan Result {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.t.Cleanup(cancel)
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: env.Scheme, Cache: cache.Options{DefaultNamespaces: map[string]cache.Config{h.ns: {}}},
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
	})
	if err != nil {
		h.t.Fatal(err)
	}
	clusters := map[string]*rest.Config{"east": east.Config}
	for name, c := range extra {
		clusters[name] = c
	}
	o.BuildClusters = map[string]cluster.Cluster{}
	for name, cfg := range clusters {
		c, err := cluster.New(cfg, func(co *cluster.Options) {
			co.Scheme = env.Scheme
			co.Cache = cache.Options{DefaultNamespaces: map[string]cache.Config{h.ns: {}}}
		})
		if err != nil {
			h.t.Fatal(err)
		}
		o.BuildClusters[name] = c
	}
	o.StartBuildClusters = true
	o.Config = func() *config.Config { return h.cfg }
	o.Clock = h.clock
	if o.Recorder == nil {
		o.Recorder = events.New(mgr, "sinker", h.clock)
	}
	results := make(chan Result, 4)
	o.AfterPass = func(r Result) { results <- r }
	if _, err := Setup(mgr, o); err != nil {
		h.t.Fatal(err)
	}
	go func() { _ = mgr.Start(ctx) }()
	return results
}
