package events_test

import (
	"context"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/events"
	"github.com/prowl-ci/prowl/internal/horologium"
	"github.com/prowl-ci/prowl/internal/jobs"
	"github.com/prowl-ci/prowl/internal/plank"
	"github.com/prowl-ci/prowl/internal/testutil"
	"github.com/prowl-ci/prowl/internal/testutil/seedconfig"
)

var env *testutil.Env

func TestMain(m *testing.M) {
	ctrl.SetLogger(logr.Discard())
	os.Exit(testutil.RunWithEnv(m, &env))
}

// story runs Horologium (by hand) and Plank against a namespace of its own.
type story struct {
	t     *testing.T
	ns    string
	cfg   *config.Config
	horo  *horologium.Horologium
	clock *clocktesting.FakeClock
}

func newStory(t *testing.T, job string) *story {
	t.Helper()
	ns := env.Namespace(t, "story")
	s := &story{t: t, ns: ns, clock: clocktesting.NewFakeClock(time.Now())}
	s.cfg = seedconfig.Load(t, ns, "", "periodics:\n- name: "+job+"\n  interval: 1h\n  decorate: true\n  spec: {containers: [{image: alpine, command: [\"true\"]}]}\n")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	skip := true
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: env.Scheme, Cache: cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: ctrlconfig.Controller{SkipNameValidation: &skip},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &prowv1.ProwJob{}, horologium.JobIndex, horologium.IndexJob); err != nil {
		t.Fatal(err)
	}
	ids, err := jobs.NewBuildIDs(7)
	if err != nil {
		t.Fatal(err)
	}
	get := func() *config.Config { return s.cfg }
	if _, err := plank.Setup(ctx, mgr, plank.Options{Config: get, Clock: s.clock, BuildIDs: ids, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	s.horo = &horologium.Horologium{Config: get, Clock: s.clock, Recorder: events.New(mgr, "horologium", s.clock),
		Lister:  horologium.CacheLister{Reader: mgr.GetCache(), Namespace: func() string { return ns }},
		Creator: horologium.APICreator{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader()}}
	go func() { _ = mgr.Start(ctx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}
	return s
}

// start has Horologium start the periodic and returns its ProwJob's name.
func (s *story) start(job string) string {
	s.t.Helper()
	if n, err := s.horo.Pass(context.Background()); n != 1 || err != nil {
		s.t.Fatalf("Horologium created %d, %v", n, err)
	}
	var list prowv1.ProwJobList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(s.ns)); err != nil || len(list.Items) != 1 {
		s.t.Fatalf("ProwJobs %v, %v", len(list.Items), err)
	}
	return list.Items[0].Name
}

func (s *story) waitFor(name string, ok func(*prowv1.ProwJob) bool) *prowv1.ProwJob {
	s.t.Helper()
	pj := &prowv1.ProwJob{}
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return env.Client.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: name}, pj) == nil && ok(pj), nil
	})
	if err != nil {
		s.t.Fatalf("%s: %+v", name, pj.Status)
	}
	return pj
}

func (s *story) waitState(name string, st prowv1.ProwJobState) *prowv1.ProwJob {
	return s.waitFor(name, func(pj *prowv1.ProwJob) bool { return pj.Status.State == st })
}

// finishPod ends the job's Pod as a kubelet would: its container exited 0.
func (s *story) finishPod(name string) {
	s.t.Helper()
	s.setPod(name, func(pod *corev1.Pod) { pod.Status.Phase = corev1.PodSucceeded })
}

// runPod has the job's Pod scheduled and running.
func (s *story) runPod(name string) {
	s.t.Helper()
	s.setPod(name, func(pod *corev1.Pod) {
		pod.Status.Phase = corev1.PodRunning
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}
	})
}

func (s *story) setPod(name string, set func(*corev1.Pod)) {
	s.t.Helper()
	ctx := context.Background()
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		pod := &corev1.Pod{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: name}, pod); err != nil {
			return false, nil
		}
		set(pod)
		return env.Client.Status().Update(ctx, pod) == nil, nil
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// story is the Events of name as "component reason: note", in order, once there are n.
func (s *story) events(name string, n int) []string {
	s.t.Helper()
	var out []string
	_ = wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var list eventsv1.EventList
		if err := env.Client.List(ctx, &list, client.InNamespace(s.ns)); err != nil {
			return false, err
		}
		var mine []eventsv1.Event
		for _, e := range list.Items {
			if e.Regarding.Name == name && e.Regarding.Kind == "ProwJob" {
				mine = append(mine, e)
			}
		}
		sort.SliceStable(mine, func(i, j int) bool { return mine[i].EventTime.Before(&mine[j].EventTime) })
		out = out[:0]
		for _, e := range mine {
			out = append(out, e.ReportingController+" "+e.Reason+": "+e.Note)
		}
		return len(out) >= n, nil
	})
	return out
}

func checkStory(t *testing.T, got, want []string) {
	t.Helper()
	// Build IDs and Pod names vary: compare up to the first "(build".
	trimmed := make([]string, len(got))
	for i, g := range got {
		trimmed[i], _, _ = strings.Cut(g, " (build ")
	}
	// Each component's Events are in the order it made them; across components only causality
	// orders them, and Horologium's "Created" may land after Plank's first step (Plank can act
	// on the new ProwJob before Horologium's create call has returned).
	if diff := cmp.Diff(byComponent(want), byComponent(trimmed)); diff != "" {
		t.Errorf("events (-want +got):\n%s\nall: %q", diff, got)
	}
}

// byComponent groups "component reason: note" lines by component, keeping their order.
func byComponent(lines []string) map[string][]string {
	m := map[string][]string{}
	for _, l := range lines {
		c, _, _ := strings.Cut(l, " ")
		m[c] = append(m[c], l)
	}
	return m
}

// TestFullRun: created by Horologium and why, the Pod created, triggered → pending → success.
func TestFullRun(t *testing.T) {
	t.Parallel()
	s := newStory(t, "full")
	name := s.start("full")
	s.waitState(name, prowv1.PendingState)
	s.finishPod(name)
	s.waitState(name, prowv1.SuccessState)
	checkStory(t, s.events(name, 4), []string{
		"horologium Created: horologium created the ProwJob (periodic job full): its first run.",
		"plank PodCreated: Created Pod " + name + " in build cluster default",
		"plank StateChanged: triggered → pending: Job triggered.",
		"plank StateChanged: pending → success: Job succeeded.",
	})
}

// TestRevival: the Pod vanishes, Plank revives the job and creates the Pod again.
func TestRevival(t *testing.T) {
	t.Parallel()
	s := newStory(t, "revived")
	name := s.start("revived")
	s.waitState(name, prowv1.PendingState)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: name}}
	if err := env.Client.Delete(context.Background(), pod, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	s.waitFor(name, func(pj *prowv1.ProwJob) bool {
		return pj.Status.PodRevivalCount == 1 && pj.Status.State == prowv1.PendingState
	})
	s.finishPod(name)
	s.waitState(name, prowv1.SuccessState)
	checkStory(t, s.events(name, 7), []string{
		"horologium Created: horologium created the ProwJob (periodic job revived): its first run.",
		"plank PodCreated: Created Pod " + name + " in build cluster default",
		"plank StateChanged: triggered → pending: Job triggered.",
		"plank Revived: The Pod disappeared; recreating it (revival 1 of 3).",
		"plank PodCreated: Created Pod " + name + " in build cluster default",
		"plank StateChanged: triggered → pending: Job triggered.",
		"plank StateChanged: pending → success: Job succeeded.",
	})
}

// TestAbort: a running job is aborted when its pod_running_timeout passes.
func TestAbort(t *testing.T) {
	t.Parallel()
	s := newStory(t, "timed-out")
	name := s.start("timed-out")
	s.waitState(name, prowv1.PendingState)
	s.runPod(name)
	s.clock.Step(49 * time.Hour) // past the default pod_running_timeout of 48h
	// The deadline's requeue is on the real clock: poke Plank with a change it ignores.
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		pj := &prowv1.ProwJob{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: name}, pj); err != nil {
			return false, err
		}
		if pj.Status.State == prowv1.AbortedState {
			return true, nil
		}
		pj.Labels["poke"] = time.Now().Format("150405.000000")
		_ = env.Client.Update(ctx, pj)
		return false, nil
	})
	if err != nil {
		t.Fatal("not aborted")
	}
	checkStory(t, s.events(name, 4), []string{
		"horologium Created: horologium created the ProwJob (periodic job timed-out): its first run.",
		"plank PodCreated: Created Pod " + name + " in build cluster default",
		"plank StateChanged: triggered → pending: Job triggered.",
		"plank Aborted: The Pod ran longer than 48h0m0s (pod_running_timeout).",
	})
}
