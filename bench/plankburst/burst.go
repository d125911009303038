// Package plankburst measures Plank against a real API server (envtest): N ProwJobs created at
// once, until every Pod exists and every ProwJob is pending, and the latency from each ProwJob's
// create to its Pod's. The baseline is a plain client-go loop doing the same writes (create the
// same decorated Pods, patch the same statuses) with the same QPS, burst and parallelism.
package plankburst

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	prowconfig "github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/decorate"
	"github.com/prowl-ci/prowl/internal/jobs"
	"github.com/prowl-ci/prowl/internal/plank"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// Settings both sides share.
const (
	QPS     = 300
	Burst   = 600
	Workers = 32
)

// Result is one side's run.
type Result struct {
	Total    time.Duration
	P50, P99 time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("total %v, create→Pod p50 %v p99 %v", r.Total.Round(time.Millisecond), r.P50.Round(time.Millisecond), r.P99.Round(time.Millisecond))
}

func newNamespace(ctx context.Context, env *testutil.Env) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "bench-"}}
	if err := env.Client.Create(ctx, ns); err != nil {
		return "", err
	}
	return ns.Name, nil
}

func prowJob(ns string, i int) *prowv1.ProwJob {
	return &prowv1.ProwJob{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pj-%05d", i), Namespace: ns, Labels: map[string]string{prowv1.CreatedByProw: "true"}},
		Spec: prowv1.ProwJobSpec{Type: prowv1.PeriodicJob, Agent: prowv1.KubernetesAgent, Cluster: "default", Namespace: ns, Job: fmt.Sprintf("job-%d", i%50),
			PodSpec: &corev1.PodSpec{Containers: []corev1.Container{{Image: "alpine", Command: []string{"true"}}}},
			DecorationConfig: &prowv1.DecorationConfig{
				UtilityImages:    &prowv1.UtilityImages{CloneRefs: "c", InitUpload: "i", Entrypoint: "e", Sidecar: "s"},
				GCSConfiguration: &prowv1.GCSConfiguration{Bucket: "file:///tmp/bench", PathStrategy: "explicit"},
			}},
	}
}

func throttled(env *testutil.Env) (client.Client, *rest.Config, error) {
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = QPS, Burst
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	return c, cfg, err
}

// parallel calls f for 0..n-1 from Workers goroutines and returns the first error.
func parallel(n int, f func(i int) error) error {
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := f(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return firstErr
}

// createAll creates n ProwJobs with Workers at once and records when each create returned.
func createAll(ctx context.Context, c client.Client, ns string, n int) (map[string]time.Time, error) {
	created := make(map[string]time.Time, n)
	var mu sync.Mutex
	err := parallel(n, func(i int) error {
		pj := prowJob(ns, i)
		if err := c.Create(ctx, pj); err != nil {
			return err
		}
		mu.Lock()
		created[pj.Name] = time.Now()
		mu.Unlock()
		return nil
	})
	return created, err
}

// watchPods records when each Pod of ns first appears, through an informer.
func watchPods(ctx context.Context, cfg *rest.Config, env *testutil.Env, ns string) (func() map[string]time.Time, error) {
	c, err := cache.New(cfg, cache.Options{Scheme: env.Scheme, DefaultNamespaces: map[string]cache.Config{ns: {}}})
	if err != nil {
		return nil, err
	}
	seen := map[string]time.Time{}
	var mu sync.Mutex
	inf, err := c.GetInformer(ctx, &corev1.Pod{})
	if err != nil {
		return nil, err
	}
	if _, err := inf.AddEventHandler(podAdded(func(name string) {
		mu.Lock()
		if _, ok := seen[name]; !ok {
			seen[name] = time.Now()
		}
		mu.Unlock()
	})); err != nil {
		return nil, err
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("pod cache did not sync")
	}
	return func() map[string]time.Time {
		mu.Lock()
		defer mu.Unlock()
		out := make(map[string]time.Time, len(seen))
		for k, v := range seen {
			out[k] = v
		}
		return out
	}, nil
}

func latencies(created, pods map[string]time.Time) (p50, p99 time.Duration) {
	var l []time.Duration
	for name, t := range created {
		if p, ok := pods[name]; ok {
			l = append(l, max(p.Sub(t), 0))
		}
	}
	if len(l) == 0 {
		return 0, 0
	}
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l[len(l)/2], l[min(len(l)*99/100, len(l)-1)]
}

func waitAllPending(ctx context.Context, c client.Client, ns string, n int) error {
	return wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		var list prowv1.ProwJobList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, nil
		}
		pending := 0
		for _, pj := range list.Items {
			if pj.Status.State == prowv1.PendingState {
				pending++
			}
		}
		return pending == n, nil
	})
}

// prepare gives a side its own namespace, a client with the shared limits, and a record of when
// each Pod appears.
func prepare(ctx context.Context, env *testutil.Env) (string, client.Client, *rest.Config, func() map[string]time.Time, error) {
	ns, err := newNamespace(ctx, env)
	if err != nil {
		return "", nil, nil, nil, err
	}
	c, cfg, err := throttled(env)
	if err != nil {
		return "", nil, nil, nil, err
	}
	pods, err := watchPods(ctx, cfg, env, ns)
	return ns, c, cfg, pods, err
}

// Plank runs n ProwJobs through Plank in a manager of its own.
func Plank(ctx context.Context, env *testutil.Env, n int) (Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ns, c, cfg, pods, err := prepare(ctx, env)
	if err != nil {
		return Result{}, err
	}
	skip := true
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: env.Scheme, Cache: cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0", Controller: config.Controller{SkipNameValidation: &skip}})
	if err != nil {
		return Result{}, err
	}
	// A config built in code: Plank applies Prow's defaults to what it leaves unset.
	pc := &prowconfig.Config{}
	pc.ProwJobNamespace, pc.PodNamespace = ns, ns
	ids, err := jobs.NewBuildIDs(7)
	if err != nil {
		return Result{}, err
	}
	if _, err := plank.Setup(ctx, mgr, plank.Options{Config: func() *prowconfig.Config { return pc }, Clock: clock.RealClock{}, BuildIDs: ids, Workers: Workers}); err != nil {
		return Result{}, err
	}
	go func() { _ = mgr.Start(ctx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		return Result{}, fmt.Errorf("manager cache did not sync")
	}
	start := time.Now()
	created, err := createAll(ctx, c, ns, n)
	if err != nil {
		return Result{}, err
	}
	if err := waitAllPending(ctx, c, ns, n); err != nil {
		return Result{}, fmt.Errorf("not every ProwJob became pending: %w", err)
	}
	r := Result{Total: time.Since(start)}
	r.P50, r.P99 = latencies(created, pods())
	return r, nil
}

// Baseline creates the same ProwJobs, then, with the same parallelism, creates each decorated Pod
// and patches each status, as a plain client-go loop.
func Baseline(ctx context.Context, env *testutil.Env, n int) (Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ns, c, _, pods, err := prepare(ctx, env)
	if err != nil {
		return Result{}, err
	}
	ids, err := jobs.NewBuildIDs(8)
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	created, err := createAll(ctx, c, ns, n)
	if err != nil {
		return Result{}, err
	}
	err = parallel(n, func(i int) error {
		pj := prowJob(ns, i)
		if err := c.Get(ctx, client.ObjectKeyFromObject(pj), pj); err != nil {
			return err
		}
		id := ids.Next()
		pod, err := decorate.Pod(pj, id)
		if err != nil {
			return err
		}
		if err := c.Create(ctx, pod); err != nil {
			return err
		}
		base := pj.DeepCopy()
		now := metav1.Now()
		pj.Status = prowv1.ProwJobStatus{State: prowv1.PendingState, StartTime: pj.CreationTimestamp, PendingTime: &now, BuildID: id, PodName: pod.Name}
		return c.Status().Patch(ctx, pj, client.MergeFrom(base))
	})
	if err != nil {
		return Result{}, err
	}
	r := Result{Total: time.Since(start)}
	r.P50, r.P99 = latencies(created, pods())
	return r, nil
}
