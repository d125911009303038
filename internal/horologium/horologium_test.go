package horologium

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/testutil"
	"github.com/prowl-ci/prowl/internal/testutil/seedconfig"
)

// harness is Horologium over a real manager cache in a namespace of its own, with a fake clock.
type harness struct {
	t     *testing.T
	ns    string
	clock *clocktesting.FakeClock
	cfg   *config.Config
	h     *Horologium
	mu    sync.Mutex
}

func loadJobs(t *testing.T, ns, jobs string) *config.Config {
	t.Helper()
	return seedconfig.Load(t, ns, "", jobs)
}

func newHarness(t *testing.T, jobs string, start time.Time) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ns := env.Namespace(t, "horologium")
	hs := &harness{t: t, ns: ns, clock: clocktesting.NewFakeClock(start)}
	hs.cfg = loadJobs(t, ns, jobs)
	hs.h = hs.newHorologium(ctx)
	return hs
}

// newHorologium starts a manager (a new process, as far as Horologium knows) and returns a
// Horologium reading its cache.
func (hs *harness) newHorologium(ctx context.Context) *Horologium {
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: env.Scheme, Cache: cache.Options{DefaultNamespaces: map[string]cache.Config{hs.ns: {}}},
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
	})
	if err != nil {
		hs.t.Fatal(err)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &prowv1.ProwJob{}, JobIndex, IndexJob); err != nil {
		hs.t.Fatal(err)
	}
	go func() { _ = mgr.Start(ctx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		hs.t.Fatal("cache did not sync")
	}
	return &Horologium{
		Config:  func() *config.Config { hs.mu.Lock(); defer hs.mu.Unlock(); return hs.cfg },
		Lister:  CacheLister{Reader: mgr.GetCache(), Namespace: func() string { return hs.ns }},
		Creator: APICreator{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader()},
		Clock:   hs.clock,
	}
}

// pass runs one pass and returns how many ProwJobs it created.
func (hs *harness) pass() int {
	hs.t.Helper()
	n, err := hs.h.Pass(context.Background())
	if err != nil {
		hs.t.Fatal(err)
	}
	return n
}

func (hs *harness) prowJobs(job string) []prowv1.ProwJob {
	hs.t.Helper()
	var list prowv1.ProwJobList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(hs.ns)); err != nil {
		hs.t.Fatal(err)
	}
	var out []prowv1.ProwJob
	for _, pj := range list.Items {
		if pj.Spec.Job == job {
			out = append(out, pj)
		}
	}
	return out
}

// finish marks a job's latest ProwJob complete at the fake clock's time, as Plank would, and
// waits until Horologium's cache sees it.
func (hs *harness) finish(job string) {
	hs.t.Helper()
	pjs := hs.prowJobs(job)
	pj := latestOf(pjs)
	now := metav1.NewTime(hs.clock.Now())
	pj.Status.State, pj.Status.CompletionTime = prowv1.SuccessState, &now
	if err := env.Client.Status().Update(context.Background(), pj); err != nil {
		hs.t.Fatal(err)
	}
	hs.waitCached(job, func(pjs []*prowv1.ProwJob) bool { l := latest(pjs); return l != nil && l.Complete() })
}

func latestOf(pjs []prowv1.ProwJob) *prowv1.ProwJob {
	ptrs := make([]*prowv1.ProwJob, len(pjs))
	for i := range pjs {
		ptrs[i] = &pjs[i]
	}
	return latest(ptrs)
}

func (hs *harness) waitCached(job string, ok func([]*prowv1.ProwJob) bool) {
	hs.t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		pjs, err := hs.h.Lister.ProwJobsOf(ctx, job)
		return err == nil && ok(pjs), nil
	})
	if err != nil {
		hs.t.Fatalf("the cache never showed the change to %s", job)
	}
}

func (hs *harness) expect(job string, runs int) {
	hs.t.Helper()
	if got := len(hs.prowJobs(job)); got != runs {
		hs.t.Fatalf("%s has %d runs, want %d (clock %v)", job, got, runs, hs.clock.Now())
	}
	// The runs and their status: a run whose status the cache has not seen yet would count as
	// started at its creation, which is real time, not the fake clock's.
	hs.waitCached(job, func(pjs []*prowv1.ProwJob) bool {
		for _, pj := range pjs {
			if pj.Status.StartTime.IsZero() {
				return false
			}
		}
		return len(pjs) == runs
	})
}

func seedJob(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(testutil.Seed("periodic-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestSeedIntervalJob runs the seed's echo-test (interval 60m) through an hour and a half.
func TestSeedIntervalJob(t *testing.T) {
	t.Parallel()
	start := time.Now().Truncate(time.Second)
	hs := newHarness(t, seedJob(t), start)
	if n := hs.pass(); n != 1 {
		t.Fatalf("at start: created %d, want 1", n)
	}
	hs.expect("echo-test", 1)
	pj := hs.prowJobs("echo-test")[0]
	if pj.Status.State != prowv1.TriggeredState || !pj.Status.StartTime.Time.Equal(start) || pj.Labels[prowv1.IDLabel] != pj.Name {
		t.Errorf("created %+v", pj.Status)
	}
	// Still pending at 61m: no second run while the first goes on.
	hs.clock.SetTime(start.Add(61 * time.Minute))
	if n := hs.pass(); n != 0 {
		t.Fatalf("created %d while the previous run was pending", n)
	}
	hs.clock.SetTime(start.Add(30 * time.Minute))
	hs.finish("echo-test")
	hs.clock.SetTime(start.Add(59 * time.Minute))
	if n := hs.pass(); n != 0 {
		t.Fatalf("created %d at 59m", n)
	}
	hs.clock.SetTime(start.Add(60 * time.Minute))
	if n := hs.pass(); n != 1 {
		t.Fatalf("created %d at 60m, want 1", n)
	}
	// A pass right after, before the cache has the new run, creates no duplicate.
	if n := hs.pass(); n != 0 {
		t.Fatalf("a second pass at 60m created %d", n)
	}
	hs.expect("echo-test", 2)
}

func TestCronJob(t *testing.T) {
	t.Parallel()
	base := time.Date(2030, 1, 1, 10, 3, 0, 0, time.UTC)
	hs := newHarness(t, "periodics:\n- name: every-five\n  cron: '*/5 * * * *'\n  spec: {containers: [{image: a, command: [x]}]}\n", base)
	skippedBefore := promtestutil.ToFloat64(skippedFirings.WithLabelValues("every-five"))
	if n := hs.pass(); n != 0 {
		t.Fatalf("10:03: created %d before the first firing", n)
	}
	hs.clock.SetTime(base.Add(2 * time.Minute)) // 10:05
	if n := hs.pass(); n != 1 {
		t.Fatalf("10:05: created %d, want 1", n)
	}
	hs.expect("every-five", 1)
	hs.clock.SetTime(base.Add(2*time.Minute + 30*time.Second)) // 10:05:30, same firing
	if n := hs.pass(); n != 0 {
		t.Fatalf("10:05:30: created %d for a firing already run", n)
	}
	hs.clock.SetTime(base.Add(3 * time.Minute))
	hs.finish("every-five")
	hs.clock.SetTime(base.Add(7 * time.Minute)) // 10:10
	if n := hs.pass(); n != 1 {
		t.Fatalf("10:10: created %d, want 1", n)
	}
	hs.expect("every-five", 2)
	// 10:15 fires while the 10:10 run is still going: skipped, and not made up at 10:16.
	hs.clock.SetTime(base.Add(12 * time.Minute))
	if n := hs.pass(); n != 0 {
		t.Fatalf("10:15: created %d while the previous run was going", n)
	}
	hs.clock.SetTime(base.Add(13 * time.Minute))
	hs.finish("every-five")
	if n := hs.pass(); n != 0 {
		t.Fatalf("10:16: created %d for a skipped firing", n)
	}
	if got := promtestutil.ToFloat64(skippedFirings.WithLabelValues("every-five")) - skippedBefore; got != 1 {
		t.Errorf("skipped firings counted %v, want 1 (10:15, once however many passes saw it)", got)
	}
	hs.clock.SetTime(base.Add(17 * time.Minute)) // 10:20
	if n := hs.pass(); n != 1 {
		t.Fatalf("10:20: created %d, want 1", n)
	}
}

func TestMinimumIntervalCountsFromCompletion(t *testing.T) {
	t.Parallel()
	start := time.Now().Truncate(time.Second)
	hs := newHarness(t, "periodics:\n- name: min\n  minimum_interval: 30m\n  spec: {containers: [{image: a, command: [x]}]}\n", start)
	if n := hs.pass(); n != 1 {
		t.Fatalf("created %d at start", n)
	}
	hs.expect("min", 1)
	hs.clock.SetTime(start.Add(50 * time.Minute))
	hs.finish("min") // completes at 50m
	hs.clock.SetTime(start.Add(79 * time.Minute))
	if n := hs.pass(); n != 0 {
		t.Fatalf("created %d 29m after completion", n)
	}
	hs.clock.SetTime(start.Add(80 * time.Minute))
	if n := hs.pass(); n != 1 {
		t.Fatalf("created %d 30m after completion, want 1", n)
	}
}

// TestRestartCreatesNoDuplicate: a new Horologium (a restart, or a new leader) decides from the
// ProwJobs alone.
func TestRestartCreatesNoDuplicate(t *testing.T) {
	t.Parallel()
	start := time.Now().Truncate(time.Second)
	hs := newHarness(t, seedJob(t), start)
	if n := hs.pass(); n != 1 {
		t.Fatal("no first run")
	}
	hs.expect("echo-test", 1)
	hs.h = hs.newHorologium(context.Background())
	hs.clock.SetTime(start.Add(10 * time.Minute))
	if n := hs.pass(); n != 0 {
		t.Fatalf("after a restart: created %d", n)
	}
	hs.expect("echo-test", 1)
}

func TestConfigReloadAddsAndRemovesJobs(t *testing.T) {
	t.Parallel()
	start := time.Now().Truncate(time.Second)
	hs := newHarness(t, seedJob(t), start)
	hs.pass()
	hs.expect("echo-test", 1)
	hs.mu.Lock()
	hs.cfg = loadJobs(t, hs.ns, "periodics:\n- name: added\n  interval: 1h\n  spec: {containers: [{image: a, command: [x]}]}\n")
	hs.mu.Unlock()
	hs.clock.SetTime(start.Add(30 * time.Minute))
	hs.finish("echo-test")
	hs.clock.SetTime(start.Add(3 * time.Hour))
	if n := hs.pass(); n != 1 {
		t.Fatalf("created %d, want only the added job", n)
	}
	hs.expect("added", 1)
	hs.expect("echo-test", 1)
}

func TestManyPeriodicsOnePass(t *testing.T) {
	t.Parallel()
	var jobs string
	for i := range 40 {
		jobs += fmt.Sprintf("- name: job-%d\n  interval: 1h\n  spec: {containers: [{image: a, command: [x]}]}\n", i)
	}
	hs := newHarness(t, "periodics:\n"+jobs, time.Now())
	if n := hs.pass(); n != 40 {
		t.Fatalf("created %d, want 40", n)
	}
	for i := range 40 {
		hs.expect(fmt.Sprintf("job-%d", i), 1)
	}
	if n := hs.pass(); n != 0 {
		t.Fatalf("second pass created %d", n)
	}
}
