package plank

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// loadLimits are the three limits the load runs under: plank.max_concurrency, the capacity of
// job queue "q", and the max_concurrency of each limited job.
type loadLimits struct{ global, queue, perJob int }

// loadSpec is what of a ProwJob the limits look at.
type loadSpec struct {
	job, queue string
	limited    bool // max_concurrency is set
}

// TestPlankLoad runs many triggered ProwJobs through Plank (32 workers, as `prowl
// controller-manager` runs it) under plank.max_concurrency 50, a job queue of capacity 10 and
// jobs of max_concurrency 2, mixed so that each limit is the one that holds some jobs back. A
// kubelet runs each Pod and ends it as soon as a limit the Pod counts against is full (or after
// a second), so Plank works at its limits all the time. Watches on the ProwJobs and on the Pods
// check every change: at no moment are more ProwJobs pending, or more Pods running, than a limit
// allows; every job starts once and succeeds. PROWL_LOAD=1 (`make load`) runs 5,000 jobs;
// otherwise 500.
func TestPlankLoad(t *testing.T) {
	n := 500
	if os.Getenv("PROWL_LOAD") != "" {
		n = 5000
	}
	lim := loadLimits{global: 50, queue: 10, perJob: 2}
	h := newHarnessWorkers(t, fmt.Sprintf("  max_concurrency: %d\n  job_queue_capacities:\n    q: %d\n", lim.global, lim.queue), 32)
	// As `prowl controller-manager` does: without this ConfigMap the API server's admission policy
	// looks for it past its cache on every ProwJob created, with a 1 s timeout that a loaded API
	// server misses, and then refuses the ProwJob (403).
	if err := PublishBuildClusters(context.Background(), env.Client, h.ns, []string{prowv1.DefaultClusterAlias}); err != nil {
		t.Fatal(err)
	}
	specs := loadSpecs(n)
	pending, running := newOccupancy("pending ProwJobs", lim, specs), newOccupancy("running Pods", lim, specs)
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	k := startLoadKubelet(ctx, t, lim, specs)
	t.Cleanup(func() { cancel(); k.stop() })
	testutil.Follow(ctx, t, wc, &prowv1.ProwJobList{}, h.ns, pending.prowJob)
	testutil.Follow(ctx, t, wc, &corev1.PodList{}, h.ns, func(o client.Object, ev watch.EventType) {
		running.pod(o, ev)
		k.saw(o, ev)
	})
	start := time.Now()
	createLoad(t, h, specs)
	waitFinished(t, h, pending, n)
	wall := time.Since(start)
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		return running.total() == n, nil
	}); err != nil {
		t.Errorf("the Pod watch saw %d Pods, want %d", running.total(), n)
	}
	pending.check(t)
	running.check(t)
	t.Logf("plank load: %d jobs, 32 workers, in %v; most at once: pending ProwJobs %s; running Pods %s",
		n, wall.Round(100*time.Millisecond), pending.most(), running.most())
}

// loadSpecs names n ProwJobs load-00000… in creation order and mixes them: half run without a
// limit of their own (plank.max_concurrency holds them); three tenths are in queue q, a third of
// these runs of three jobs of max_concurrency 2; two tenths are runs of five jobs of
// max_concurrency 2.
func loadSpecs(n int) map[string]loadSpec {
	specs := map[string]loadSpec{}
	for i := range n {
		var s loadSpec
		switch i % 10 {
		case 0, 1, 2, 3, 4:
			s = loadSpec{job: fmt.Sprintf("free-%d", i)}
		case 5, 6:
			s = loadSpec{job: fmt.Sprintf("queued-%d", i/10%7), queue: "q"}
		case 7:
			s = loadSpec{job: fmt.Sprintf("both-%d", i/10%3), queue: "q", limited: true}
		default:
			s = loadSpec{job: fmt.Sprintf("limited-%d", i/10%5), limited: true}
		}
		specs[fmt.Sprintf("load-%05d", i)] = s
	}
	return specs
}

// createLoad creates the ProwJobs as `kubectl create` would (no status), eight at a time, in
// name order.
func createLoad(t *testing.T, h *harness, specs map[string]loadSpec) {
	t.Helper()
	names := make([]string, 0, len(specs))
	for name := range specs {
		names = append(names, name)
	}
	sort.Strings(names)
	todo := make(chan string)
	errs := make(chan error, len(names))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for name := range todo {
				errs <- createRetrying(loadProwJob(h.ns, name, specs[name]))
			}
		})
	}
	for _, name := range names {
		todo <- name
	}
	close(todo)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("create: %v", err)
		}
	}
}

// createRetrying creates pj, trying again a few times (about 1.5 s in all) when the API server
// fails it for a moment, as it may on a shared 2-core machine under a load average of 20.
func createRetrying(pj *prowv1.ProwJob) error {
	return retry.OnError(retry.DefaultBackoff, func(err error) bool { return !apierrors.IsAlreadyExists(err) && !apierrors.IsInvalid(err) }, func() error {
		err := env.Client.Create(context.Background(), pj.DeepCopy())
		if apierrors.IsAlreadyExists(err) {
			return nil // an attempt that seemed to fail did create it
		}
		return err
	})
}

func loadProwJob(ns, name string, s loadSpec) *prowv1.ProwJob {
	pj := &prowv1.ProwJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{prowv1.CreatedByProw: "true"}},
		Spec: prowv1.ProwJobSpec{
			Type: prowv1.PeriodicJob, Agent: prowv1.KubernetesAgent, Cluster: "default", Namespace: ns, Job: s.job, JobQueueName: s.queue,
			PodSpec: &corev1.PodSpec{Containers: []corev1.Container{{Image: "alpine", Command: []string{"true"}}}},
		},
	}
	if s.limited {
		pj.Spec.MaxConcurrency = 2
	}
	return pj
}

// waitFinished waits until all n ProwJobs are complete, failing when none finished for two
// minutes.
func waitFinished(t *testing.T, h *harness, o *occupancy, n int) {
	t.Helper()
	last := -1
	for {
		var done int
		err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
			done = o.finished()
			return done == n || done != last, nil
		})
		if err != nil {
			t.Fatalf("no ProwJob finished for two minutes: %d of %d finished; %s", done, n, h.stateSummary())
		}
		if done == n {
			return
		}
		last = done
	}
}

// stateSummary counts the namespace's ProwJobs by state, with an example description of each.
func (h *harness) stateSummary() string {
	var list prowv1.ProwJobList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(h.ns)); err != nil {
		return err.Error()
	}
	count, example := map[prowv1.ProwJobState]int{}, map[prowv1.ProwJobState]string{}
	for _, pj := range list.Items {
		s := state(&pj)
		count[s]++
		example[s] = pj.Name + ": " + pj.Status.Description
	}
	var b strings.Builder
	for s, c := range count {
		fmt.Fprintf(&b, "%s %d (%s); ", s, c, example[s])
	}
	return b.String()
}

// occupancy counts, change by change as a watch shows them, the jobs that hold a slot: in all,
// in each job queue and of each limited job. It keeps the most seen and each time a limit was
// passed.
type occupancy struct {
	what  string
	lim   loadLimits
	specs map[string]loadSpec

	mu     sync.Mutex
	in     map[string]bool
	count  map[string]int // jobs holding a slot, by limit ("in all", "in queue q", "runs of j")
	top    loadLimits     // the most seen
	over   []string
	starts map[string]int    // times each job took a slot
	done   map[string]string // final state by job
}

func newOccupancy(what string, lim loadLimits, specs map[string]loadSpec) *occupancy {
	return &occupancy{what: what, lim: lim, specs: specs, in: map[string]bool{}, count: map[string]int{},
		starts: map[string]int{}, done: map[string]string{}}
}

// prowJob follows a ProwJob: pending holds a slot.
func (o *occupancy) prowJob(obj client.Object, ev watch.EventType) {
	pj := obj.(*prowv1.ProwJob)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.set(pj.Name, ev != watch.Deleted && pj.Status.State == prowv1.PendingState)
	if pj.Complete() {
		o.done[pj.Name] = string(pj.Status.State)
	}
}

// pod follows a Pod: one neither finished nor being deleted holds a slot.
func (o *occupancy) pod(obj client.Object, ev watch.EventType) {
	p := obj.(*corev1.Pod)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.set(p.Name, ev != watch.Deleted && p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed)
}

// set records whether the job name holds a slot now, and checks every limit it counts against.
func (o *occupancy) set(name string, holds bool) {
	s, ok := o.specs[name]
	if !ok || o.in[name] == holds {
		return
	}
	o.in[name] = holds
	d := -1
	if holds {
		d = 1
		o.starts[name]++
	}
	o.bump("in all", d, o.lim.global, &o.top.global, name)
	if s.queue != "" {
		o.bump("in queue "+s.queue, d, o.lim.queue, &o.top.queue, name)
	}
	if s.limited {
		o.bump("runs of "+s.job, d, o.lim.perJob, &o.top.perJob, name)
	}
}

// bump counts d more jobs in the limit called what, keeps the most seen in top, and records the
// limit passed when name's start passes it.
func (o *occupancy) bump(what string, d, limit int, top *int, name string) {
	o.count[what] += d
	*top = max(*top, o.count[what])
	if d > 0 && o.count[what] > limit {
		o.over = append(o.over, fmt.Sprintf("%d %s when %s started", o.count[what], what, name))
	}
}

func (o *occupancy) finished() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.done)
}

// total is how many jobs ever held a slot.
func (o *occupancy) total() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.starts)
}

func (o *occupancy) most() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return fmt.Sprintf("%d/%d in all, %d/%d in the queue, %d/%d per job", o.top.global, o.lim.global, o.top.queue, o.lim.queue, o.top.perJob, o.lim.perJob)
}

// check fails the test for every limit passed, and for a job that took a slot more than once
// or ended other than in success.
func (o *occupancy) check(t *testing.T) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, msg := range o.over {
		if i == 10 {
			t.Errorf("%s: %d more times over a limit", o.what, len(o.over)-i)
			break
		}
		t.Errorf("%s over a limit: %s", o.what, msg)
	}
	for name, n := range o.starts {
		if n != 1 {
			t.Errorf("%s: %s took a slot %d times", o.what, name, n)
		}
	}
	for name, s := range o.done {
		if s != string(prowv1.SuccessState) {
			t.Errorf("%s ended %s", name, s)
		}
	}
}
