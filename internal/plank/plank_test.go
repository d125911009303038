package plank

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/jobs"
	"github.com/prowl-ci/prowl/internal/testutil/seedconfig"
)

type harness struct {
	t      *testing.T
	ns     string
	clock  *clocktesting.FakeClock
	cfg    *config.Config
	r      *Reconciler
	k      kubelet
	cancel context.CancelFunc
	n      int
	mu     sync.Mutex
	// workers is how many ProwJobs Plank reconciles at once; 0 is 8.
	workers int
}

// newHarness runs Plank in a manager of its own over a namespace of its own, with a fake clock.
// plankConfig is YAML under plank: (indented two spaces).
func newHarness(t *testing.T, plankConfig string) *harness {
	t.Helper()
	return newHarnessWorkers(t, plankConfig, 0)
}

// newHarnessWorkers is newHarness with Plank reconciling workers ProwJobs at once (0: 8).
func newHarnessWorkers(t *testing.T, plankConfig string, workers int) *harness {
	t.Helper()
	ns := env.Namespace(t, "plank")
	h := &harness{t: t, ns: ns, clock: clocktesting.NewFakeClock(time.Now()), k: kubelet{t: t, ns: ns}, workers: workers}
	h.cfg = seedconfig.Load(t, ns, plankConfig, "")
	h.start(false)
	return h
}

// start starts a manager running Plank; stop it with h.cancel.
func (h *harness) start(leaderElect bool) *Reconciler { return h.startFull(leaderElect, nil) }

// startWith starts a manager running Plank with build clusters besides its own.
func (h *harness) startWith(clusters map[string]cluster.Cluster) *Reconciler {
	return h.startFull(false, clusters)
}

func (h *harness) startFull(leaderElect bool, clusters map[string]cluster.Cluster) *Reconciler {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.t.Cleanup(cancel)
	h.cancel = cancel
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: env.Scheme, Cache: cache.Options{DefaultNamespaces: map[string]cache.Config{h.ns: {}}},
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		LeaderElection: leaderElect, LeaderElectionID: "plank-" + h.ns, LeaderElectionNamespace: h.ns,
		LeaseDuration: ptr(2 * time.Second), RenewDeadline: ptr(time.Second), RetryPeriod: ptr(200 * time.Millisecond),
		Controller: controllerConfig(),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	ids, err := jobs.NewBuildIDs(int64(h.n % 1024))
	if err != nil {
		h.t.Fatal(err)
	}
	h.n++
	r, err := Setup(ctx, mgr, Options{Config: func() *config.Config { h.mu.Lock(); defer h.mu.Unlock(); return h.cfg }, Clock: h.clock, BuildIDs: ids, Workers: cmp.Or(h.workers, 8), BuildClusters: clusters})
	if err != nil {
		h.t.Fatal(err)
	}
	go func() { _ = mgr.Start(ctx) }()
	h.r = r
	return r
}

func ptr[T any](v T) *T { return &v }

// create makes a ProwJob as `kubectl create` would: no status.
func (h *harness) create(name string, mutate func(*prowv1.ProwJob)) *prowv1.ProwJob {
	h.t.Helper()
	pj := &prowv1.ProwJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.ns, Labels: map[string]string{prowv1.CreatedByProw: "true"}},
		Spec: prowv1.ProwJobSpec{
			Type: prowv1.PeriodicJob, Agent: prowv1.KubernetesAgent, Cluster: "default", Namespace: h.ns, Job: "job-" + name,
			PodSpec: &corev1.PodSpec{Containers: []corev1.Container{{Image: "alpine", Command: []string{"true"}}}},
		},
	}
	if mutate != nil {
		mutate(pj)
	}
	if err := env.Client.Create(context.Background(), pj); err != nil {
		h.t.Fatal(err)
	}
	return pj
}

func (h *harness) get(name string) *prowv1.ProwJob {
	h.t.Helper()
	pj := &prowv1.ProwJob{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: name}, pj); err != nil {
		h.t.Fatal(err)
	}
	return pj
}

// waitFor waits until the ProwJob satisfies ok, or fails saying what it is.
func (h *harness) waitFor(name string, what string, ok func(*prowv1.ProwJob) bool) *prowv1.ProwJob {
	h.t.Helper()
	pj := &prowv1.ProwJob{}
	var getErr error
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		latest := &prowv1.ProwJob{}
		if getErr = env.Client.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: name}, latest); getErr != nil {
			return false, nil
		}
		pj = latest
		return ok(pj), nil
	})
	if err != nil {
		h.t.Fatalf("%s never became %s: status %+v (last get error: %v)", name, what, pj.Status, getErr)
	}
	return pj
}

func (h *harness) waitState(name string, s prowv1.ProwJobState) *prowv1.ProwJob {
	h.t.Helper()
	return h.waitFor(name, string(s), func(pj *prowv1.ProwJob) bool { return pj.Status.State == s })
}

// poke reconciles a ProwJob now, as a requeue at a deadline would once the fake clock moved. A
// reconcile error fails the test: a conflict with the manager's own reconcile is a quiet requeue.
func (h *harness) poke(name string) {
	h.t.Helper()
	if _, err := h.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Namespace: h.ns, Name: name}}); err != nil {
		h.t.Fatalf("reconcile %s: %v", name, err)
	}
}

func (h *harness) podExists(name string) bool {
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: name}, &corev1.Pod{})
	return err == nil
}

func TestTriggeredToPendingToSuccess(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "")
	pj := h.create("ok", nil)
	got := h.waitState("ok", prowv1.PendingState)
	if !got.Status.StartTime.Equal(&pj.CreationTimestamp) {
		t.Errorf("startTime %v, want creationTimestamp %v", got.Status.StartTime, pj.CreationTimestamp)
	}
	if got.Status.BuildID == "" || got.Status.PodName != "ok" || got.Status.PendingTime == nil || got.Status.Description == "" {
		t.Errorf("pending status %+v", got.Status)
	}
	pod := h.k.pod("ok")
	if pod.Labels[prowv1.BuildIDLabel] != got.Status.BuildID {
		t.Errorf("pod build ID %q, ProwJob's %q", pod.Labels[prowv1.BuildIDLabel], got.Status.BuildID)
	}
	h.k.run("ok", h.clock.Now())
	h.k.exit("ok", 0)
	done := h.waitState("ok", prowv1.SuccessState)
	if done.Status.CompletionTime == nil || done.Status.Description != "Job succeeded." {
		t.Errorf("final status %+v", done.Status)
	}
	// The metrics Prometheus scrapes: jobs by state, reconcile and Pod-create latency.
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range families {
		seen[f.GetName()] = len(f.GetMetric()) > 0
	}
	for _, name := range []string{"prowl_prowjobs", "prowl_plank_reconcile_seconds", "prowl_plank_pod_create_seconds"} {
		if !seen[name] {
			t.Errorf("metric %s is not exported", name)
		}
	}
}

func TestFailureAndOOM(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "")
	h.create("fails", nil)
	h.create("oom", nil)
	h.waitState("fails", prowv1.PendingState)
	h.waitState("oom", prowv1.PendingState)
	h.k.exit("fails", 3)
	h.k.oomKill("oom")
	if pj := h.waitState("fails", prowv1.FailureState); !strings.Contains(pj.Status.Description, "exited 3") {
		t.Errorf("failure description %q", pj.Status.Description)
	}
	if pj := h.waitState("oom", prowv1.ErrorState); !strings.Contains(pj.Status.Description, "OOMKilled") {
		t.Errorf("OOM description %q", pj.Status.Description)
	}
}

func TestPodsThatCannotBeMade(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "")
	h.create("nowhere", func(pj *prowv1.ProwJob) { pj.Spec.Cluster = "mars" })
	h.create("invalid", func(pj *prowv1.ProwJob) { pj.Spec.PodSpec.Containers[0].Image = "" })
	if pj := h.waitState("nowhere", prowv1.ErrorState); !strings.Contains(pj.Status.Description, `"mars" is not known`) || pj.Status.CompletionTime == nil {
		t.Errorf("unknown cluster: %+v", pj.Status)
	}
	if pj := h.waitState("invalid", prowv1.ErrorState); !strings.Contains(pj.Status.Description, "image") {
		t.Errorf("invalid pod: %+v", pj.Status)
	}
}

func TestAbortedByAnyone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "")
	h.create("stop-me", nil)
	pj := h.waitState("stop-me", prowv1.PendingState)
	pj.Status.State = prowv1.AbortedState
	if err := env.Client.Status().Update(context.Background(), pj); err != nil {
		t.Fatal(err)
	}
	done := h.waitFor("stop-me", "complete", func(pj *prowv1.ProwJob) bool { return pj.Complete() })
	if done.Status.State != prowv1.AbortedState || done.Status.Description != "Job aborted." {
		t.Errorf("status %+v", done.Status)
	}
	if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) { return !h.podExists("stop-me"), nil }); err != nil {
		t.Error("the aborted job's Pod was not deleted")
	}
}

// TestCapacityInCreationOrder: a job with max_concurrency 1 runs its ProwJobs one at a time, in
// the order they were created (creationTimestamp has one-second resolution; within a second the
// names, c0 < c1 < c2, decide, as TestEarlier checks).
func TestCapacityInCreationOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "")
	for i := range 3 {
		h.create(fmt.Sprintf("c%d", i), func(pj *prowv1.ProwJob) { pj.Spec.Job, pj.Spec.MaxConcurrency = "limited", 1 })
	}
	h.waitState("c0", prowv1.PendingState)
	for _, n := range []string{"c1", "c2"} {
		h.poke(n)
		if pj := h.get(n); pj.Status.State == prowv1.PendingState || h.podExists(n) {
			t.Fatalf("%s started while c0 held the only slot", n)
		}
	}
	h.k.exit("c0", 0)
	h.waitState("c0", prowv1.SuccessState)
	h.waitState("c1", prowv1.PendingState)
	if pj := h.get("c2"); pj.Status.State == prowv1.PendingState {
		t.Fatal("c2 started before c1 finished")
	}
	h.k.exit("c1", 0)
	h.waitState("c2", prowv1.PendingState)
}

func TestJobQueueAndGlobalLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "  max_concurrency: 2\n  job_queue_capacities:\n    gpu: 1\n")
	h.create("q1", func(pj *prowv1.ProwJob) { pj.Spec.JobQueueName = "gpu" }) // ahead of q2, by time or by name
	h.create("q2", func(pj *prowv1.ProwJob) { pj.Spec.JobQueueName = "gpu" })
	h.create("free", nil)
	h.waitState("q1", prowv1.PendingState)
	h.waitState("free", prowv1.PendingState)
	h.create("over", nil)
	h.poke("q2")
	h.poke("over")
	if h.get("q2").Status.State == prowv1.PendingState || h.get("over").Status.State == prowv1.PendingState {
		t.Fatal("a job started over its queue's or plank's limit")
	}
	h.k.exit("free", 0)
	h.waitState("over", prowv1.PendingState)
	h.k.exit("q1", 0)
	h.k.exit("over", 0)
	h.waitState("q2", prowv1.PendingState)
}

func TestAbortSupersededPresubmits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "")
	presubmit := func(sha string) func(*prowv1.ProwJob) {
		return func(pj *prowv1.ProwJob) {
			pj.Spec.Type, pj.Spec.Job = prowv1.PresubmitJob, "pull-unit"
			pj.Spec.Refs = &prowv1.Refs{Org: "o", Repo: "r", BaseRef: "main", Pulls: []prowv1.Pull{{Number: 7, Author: "a", SHA: sha}}}
		}
	}
	// Created in the same second or not, "old" is the earlier: by time, else by name.
	h.create("old", presubmit("aaa"))
	h.waitState("old", prowv1.PendingState)
	h.create("push2", presubmit("bbb"))
	h.waitState("push2", prowv1.PendingState)
	old := h.waitFor("old", "aborted and complete", func(pj *prowv1.ProwJob) bool { return pj.Complete() })
	if old.Status.State != prowv1.AbortedState || old.Status.Description != "Aborted: superseded by push2." {
		t.Errorf("old: %+v", old.Status)
	}
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "  pod_unscheduled_timeout: 5m\n  pod_pending_timeout: 10m\n  pod_running_timeout: 1h\n")
	h.create("unscheduled", nil)
	h.create("slow-start", nil)
	h.create("long", func(pj *prowv1.ProwJob) {
		pj.Spec.DecorationConfig = nil
	})
	for _, n := range []string{"unscheduled", "slow-start", "long"} {
		h.waitState(n, prowv1.PendingState)
	}
	created := h.k.pod("long").CreationTimestamp.Time
	h.k.schedule("slow-start")
	// The node cannot pull the test container's image, as a kubelet reports it.
	h.k.setStatus("slow-start", func(s *corev1.PodStatus) {
		s.ContainerStatuses = []corev1.ContainerStatus{{Name: "test", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
			Reason: "ImagePullBackOff", Message: `Back-off pulling image "registry.example/missing:1"`}}}}
	})
	h.k.run("long", created)
	h.clock.SetTime(created.Add(6 * time.Minute))
	h.poke("unscheduled")
	h.poke("slow-start")
	h.poke("long")
	if pj := h.waitState("unscheduled", prowv1.ErrorState); !strings.Contains(pj.Status.Description, "pod_unscheduled_timeout") {
		t.Errorf("unscheduled: %+v", pj.Status)
	}
	if pj := h.get("slow-start"); pj.Status.State != prowv1.PendingState {
		t.Errorf("slow-start ended at 6m: %+v", pj.Status)
	}
	h.clock.SetTime(created.Add(11 * time.Minute))
	h.poke("slow-start")
	if pj := h.waitState("slow-start", prowv1.ErrorState); !strings.Contains(pj.Status.Description, "pod_pending_timeout") ||
		!strings.Contains(pj.Status.Description, `Container test: ImagePullBackOff: Back-off pulling image "registry.example/missing:1"`) {
		t.Errorf("slow-start: %+v", pj.Status)
	}
	h.clock.SetTime(created.Add(61 * time.Minute))
	h.poke("long")
	if pj := h.waitState("long", prowv1.AbortedState); !strings.Contains(pj.Status.Description, "pod_running_timeout") || pj.Status.CompletionTime == nil {
		t.Errorf("long: %+v", pj.Status)
	}
	for _, n := range []string{"unscheduled", "slow-start", "long"} {
		if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) { return !h.podExists(n), nil }); err != nil {
			t.Errorf("%s's Pod was not deleted", n)
		}
	}
}

// TestRequeueAtDeadline: a pending job's reconcile asks to come back exactly at its next deadline.
func TestRequeueAtDeadline(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "  pod_unscheduled_timeout: 5m\n")
	h.create("waiting", nil)
	h.waitState("waiting", prowv1.PendingState)
	created := h.k.pod("waiting").CreationTimestamp.Time
	h.clock.SetTime(created.Add(2 * time.Minute))
	res, err := h.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Namespace: h.ns, Name: "waiting"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.RequeueAfter != 3*time.Minute {
		t.Errorf("RequeueAfter %v, want 3m (the unscheduled deadline)", res.RequeueAfter)
	}
	// The reconcile's duration is measured on the clock that moved, so it is never negative.
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "prowl_plank_reconcile_seconds" {
			if sum := f.GetMetric()[0].GetHistogram().GetSampleSum(); sum < 0 {
				t.Errorf("prowl_plank_reconcile_seconds sums to %v: a duration was measured across two clocks", sum)
			}
		}
	}
}

func TestRevivals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "  max_revivals: 1\n")
	h.create("gone", nil)
	first := h.waitState("gone", prowv1.PendingState)
	h.k.remove("gone")
	revived := h.waitFor("gone", "revived", func(pj *prowv1.ProwJob) bool {
		return pj.Status.PodRevivalCount == 1 && pj.Status.State == prowv1.PendingState
	})
	if revived.Status.BuildID != first.Status.BuildID {
		t.Errorf("build ID changed on revival: %s → %s", first.Status.BuildID, revived.Status.BuildID)
	}
	h.k.evict("gone")
	if pj := h.waitState("gone", prowv1.ErrorState); !strings.Contains(pj.Status.Description, "max_revivals") {
		t.Errorf("past max_revivals: %+v", pj.Status)
	}

	h.create("strict", func(pj *prowv1.ProwJob) { pj.Spec.ErrorOnEviction = true })
	h.waitState("strict", prowv1.PendingState)
	h.k.evict("strict")
	if pj := h.waitState("strict", prowv1.ErrorState); !strings.Contains(pj.Status.Description, "error_on_eviction") {
		t.Errorf("error_on_eviction: %+v", pj.Status)
	}
}

// TestRestartMidway: the manager stops in the middle of 100 jobs and a new one starts: each
// ProwJob gets exactly one Pod and reaches a final state.
func TestRestartMidway(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "")
	for i := range 100 {
		h.create(fmt.Sprintf("r%03d", i), nil)
	}
	// Let the first manager get part of the way, then stop it.
	_ = wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		var pods corev1.PodList
		_ = env.Client.List(ctx, &pods, client.InNamespace(h.ns))
		return len(pods.Items) >= 30, nil
	})
	h.cancel()
	h.start(false)
	for i := range 100 {
		name := fmt.Sprintf("r%03d", i)
		pj := h.waitState(name, prowv1.PendingState)
		pod := h.k.pod(name)
		if pod.Labels[prowv1.BuildIDLabel] != pj.Status.BuildID {
			t.Errorf("%s: Pod's build ID %s, ProwJob's %s", name, pod.Labels[prowv1.BuildIDLabel], pj.Status.BuildID)
		}
		h.k.exit(name, 0)
	}
	for i := range 100 {
		h.waitState(fmt.Sprintf("r%03d", i), prowv1.SuccessState)
	}
	var pods corev1.PodList
	if err := env.Client.List(context.Background(), &pods, client.InNamespace(h.ns)); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 100 {
		t.Errorf("%d Pods for 100 ProwJobs", len(pods.Items))
	}
}

// TestLeaderElection: of two managers, only the leader acts (every build ID carries one node
// number); when the first stops, work goes on.
func TestLeaderElection(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "")
	h.cancel() // replace the harness's manager with two that elect a leader
	h.start(true)
	firstCancel := h.cancel
	h.start(true)
	nodes := map[int64]bool{}
	for i := range 6 {
		name := fmt.Sprintf("led%d", i)
		h.create(name, nil)
		pj := h.waitState(name, prowv1.PendingState)
		id, err := strconv.ParseInt(pj.Status.BuildID, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		nodes[(id>>12)&0x3ff] = true
	}
	if len(nodes) != 1 {
		t.Errorf("build IDs from %d nodes while two managers ran: both acted", len(nodes))
	}
	firstCancel()
	h.create("after", nil)
	h.waitState("after", prowv1.PendingState)
}

// TestEarlier: ProwJobs start in creation order; the name decides only within the same second
// (creationTimestamp's resolution), so an earlier job with a later name still goes first.
func TestEarlier(t *testing.T) {
	t.Parallel()
	at := func(name string, sec int64) prowv1.ProwJob {
		return prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.Unix(sec, 0)}}
	}
	zLate, aLater, bSame := at("z", 100), at("a", 101), at("b", 100)
	if !earlier(&zLate, &aLater) || earlier(&aLater, &zLate) {
		t.Error("creation time must decide before the name")
	}
	if !earlier(&bSame, &zLate) || earlier(&zLate, &bSame) {
		t.Error("within a second the name decides")
	}
	pending := at("p", 200)
	pending.Status.State = prowv1.PendingState
	others := []prowv1.ProwJob{zLate, aLater, bSame, pending}
	if n := ahead(&aLater, others, nil); n != 3 {
		t.Errorf("%d jobs ahead of a (z and b earlier, p pending), want 3", n)
	}
	if n := ahead(&bSame, others, nil); n != 1 {
		t.Errorf("%d jobs ahead of b (p pending), want 1", n)
	}
	// Jobs being started count once, whatever the cache shows of them; b's own claim not at all.
	started := at("s", 300)
	if n := ahead(&bSame, others, []*prowv1.ProwJob{&pending, &zLate, &started, &bSame}); n != 3 {
		t.Errorf("%d jobs ahead of b (p, z and s being started), want 3", n)
	}
}

// TestAbortedBeforePendingAdoptsItsPod: a job aborted before its pending state was stored (its Pod
// created, the status write then lost) takes its Pod's build ID and name as it completes, so that
// its artifacts are found where the Pod wrote them; and the Pod goes.
func TestAbortedBeforePendingAdoptsItsPod(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t, "plank")
	cfg := seedconfig.Load(t, ns, "", "")
	ids, err := jobs.NewBuildIDs(7)
	if err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{Client: env.Client, BuildClusters: map[string]client.Client{prowv1.DefaultClusterAlias: env.Client},
		Config: func() *config.Config { return cfg }, Clock: clocktesting.NewFakeClock(time.Now()), BuildIDs: ids}
	h := &harness{t: t, ns: ns}
	pj := h.create("aborted-early", nil)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pj.Name, Namespace: ns, Labels: map[string]string{prowv1.CreatedByProw: "true", prowv1.BuildIDLabel: "4242"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "test", Image: "alpine"}}}}
	if err := env.Client.Create(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	pj.Status.State, pj.Status.Description = prowv1.AbortedState, "Aborted: the pull request was updated."
	if err := env.Client.Status().Update(context.Background(), pj); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(pj)}); err != nil {
		t.Fatal(err)
	}
	done := h.get(pj.Name)
	if !done.Complete() || done.Status.State != prowv1.AbortedState || done.Status.BuildID != "4242" || done.Status.PodName != pj.Name {
		t.Errorf("status %+v; want aborted and complete, with the Pod's build ID 4242 and name", done.Status)
	}
	if h.podExists(pj.Name) {
		t.Error("the aborted job's Pod was not deleted")
	}
}
