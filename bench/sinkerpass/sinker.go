// Package sinkerpass measures one Sinker pass over 50,000 ProwJobs and 20,000 Pods in a real
// API server's caches, 5,000 of them due: the CPU of planning the pass (the deletes apart),
// against listing the same objects from the API server once; and the time until the 5,000 are
// gone, against a plain client-go loop deleting the same objects at the same QPS.
package sinkerpass

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/sinker"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// QPS is the client rate limit of both Sinker and the baseline loop (Prowl's default).
const QPS = 300

// Burst is the client burst of both.
const Burst = 600

// Sizes of the benchmark (Scale divides them all, for a quick check of the harness).
var (
	ProwJobs = 50000
	Pods     = 20000
	DueJobs  = 2500 // ProwJobs past max_prowjob_age
	DuePods  = 2500 // Pods past terminated_pod_ttl
)

const (
	namespace  = "bench"
	createPool = 48 // requests in flight while filling: the API server, not the client, sets the pace
)

// Scale divides the sizes by div.
func Scale(div int) {
	if div > 1 {
		ProwJobs, Pods, DueJobs, DuePods = ProwJobs/div, Pods/div, DueJobs/div, DuePods/div
	}
}

// Setup is the API server filled, a manager whose caches hold it, and a Sinker over them.
type Setup struct {
	env    *testutil.Env
	cfg    *config.Config
	clock  *clocktesting.FakeClock
	direct client.Client
	s      *sinker.Sinker
	cancel context.CancelFunc
}

// New starts a control plane, fills it and starts the caches.
func New(ctx context.Context) (*Setup, error) {
	env, err := testutil.StartEnv()
	if err != nil {
		return nil, fmt.Errorf("sinker pass needs the control plane (make bench builds it): %w", err)
	}
	s := &Setup{env: env, clock: clocktesting.NewFakeClock(time.Now().Add(300 * time.Hour))}
	s.cfg = &config.Config{}
	s.cfg.ProwJobNamespace, s.cfg.PodNamespace = namespace, namespace
	s.cfg.Sinker = config.Sinker{ResyncPeriod: &metav1.Duration{Duration: time.Hour}, MaxProwJobAge: &metav1.Duration{Duration: 168 * time.Hour},
		MaxPodAge: &metav1.Duration{Duration: 24 * time.Hour}, TerminatedPodTTL: &metav1.Duration{Duration: 24 * time.Hour}}
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		return s, err
	}
	if err := s.fill(ctx, 0, ProwJobs, true); err != nil {
		return s, err
	}
	return s, s.startCache(ctx)
}

// Stop stops the caches and the control plane.
func (s *Setup) Stop() {
	if s.cancel != nil {
		s.cancel()
	}
	_ = s.env.Stop()
}

func (s *Setup) restConfig() *rest.Config {
	cfg := rest.CopyConfig(s.env.Config)
	cfg.QPS, cfg.Burst = QPS, Burst
	return cfg
}

func (s *Setup) startCache(ctx context.Context) error {
	mgr, err := ctrl.NewManager(s.restConfig(), ctrl.Options{Scheme: s.env.Scheme,
		Cache:   cache.Options{DefaultNamespaces: map[string]cache.Config{namespace: {}}},
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0"})
	if err != nil {
		return err
	}
	s.direct, err = client.New(s.restConfig(), client.Options{Scheme: s.env.Scheme})
	if err != nil {
		return err
	}
	mctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	go func() { _ = mgr.Start(mctx) }()
	s.s = &sinker.Sinker{ProwJobs: mgr.GetClient(), ProwJobCache: mgr.GetCache(), Live: mgr.GetAPIReader(),
		Clusters: map[string]sinker.PodCluster{prowv1.DefaultClusterAlias: {Client: mgr.GetClient(), Cache: mgr.GetCache()}},
		Options:  sinker.Options{Config: func() *config.Config { return s.cfg }, Clock: s.clock, Workers: 16}}
	return s.waitCached(ctx, ProwJobs, Pods)
}

// waitCached waits until the cache holds pjs ProwJobs and pods Pods.
func (s *Setup) waitCached(ctx context.Context, pjs, pods int) error {
	for range 3000 { // 10 minutes: the first sync of 70,000 objects on a loaded machine is slow
		var r sinker.Result
		if _, err := s.s.Plan(ctx, &r); err == nil && r.ProwJobs == pjs && r.Pods == pods {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("the cache did not reach %d ProwJobs and %d Pods", pjs, pods)
}

// kind of the i-th ProwJob: the first DueJobs are due; the next DuePods have a Pod that is due;
// up to Pods have a young Pod; the rest are young and have none.
func (s *Setup) prowJob(i int) (*prowv1.ProwJob, prowv1.ProwJobStatus, *corev1.Pod) {
	name := "pj-" + strconv.Itoa(i)
	pj := &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{prowv1.CreatedByProw: "true"}},
		Spec: prowv1.ProwJobSpec{Type: prowv1.PostsubmitJob, Agent: prowv1.KubernetesAgent, Job: "job-" + strconv.Itoa(i%500), Namespace: namespace}}
	now := s.clock.Now()
	started, completed := now.Add(-time.Hour), now.Add(-30*time.Minute)
	switch {
	case i < DueJobs:
		started, completed = now.Add(-200*time.Hour), now.Add(-199*time.Hour)
	case i < DueJobs+DuePods:
		started, completed = now.Add(-30*time.Hour), now.Add(-29*time.Hour)
	}
	st := prowv1.ProwJobStatus{State: prowv1.SuccessState, StartTime: metav1.NewTime(started), CompletionTime: &metav1.Time{Time: completed}}
	var pod *corev1.Pod
	if i >= DueJobs && i < DueJobs+Pods {
		pod = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace,
			Labels: map[string]string{prowv1.CreatedByProw: "true", prowv1.IDLabel: name}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "test", Image: "alpine"}}}}
	}
	return pj, st, pod
}

// fill creates ProwJobs from..to and their Pods; with all false, only what a pass deletes (the
// due ProwJobs and the due Pods).
func (s *Setup) fill(ctx context.Context, from, to int, all bool) error {
	var g errgroup.Group
	g.SetLimit(createPool)
	for i := from; i < to; i++ {
		if !all && i >= DueJobs+DuePods {
			break
		}
		g.Go(func() error {
			pj, st, pod := s.prowJob(i)
			if all || i < DueJobs {
				if err := s.createProwJob(ctx, pj, st); err != nil {
					return err
				}
			}
			if pod != nil && (all || i >= DueJobs) {
				return retry(func() error { return client.IgnoreAlreadyExists(s.env.Client.Create(ctx, pod)) })
			}
			return nil
		})
	}
	return g.Wait()
}

// createProwJob creates pj and sets its status: two requests, the status written from the
// object the create returned (the status is a subresource, so a create cannot set it). Only a
// retried create (one that may have gone through) reads the object back first.
func (s *Setup) createProwJob(ctx context.Context, pj *prowv1.ProwJob, st prowv1.ProwJobStatus) error {
	fresh := true
	if err := retry(func() error {
		err := s.env.Client.Create(ctx, pj)
		if apierrors.IsAlreadyExists(err) {
			fresh = false
			return nil
		}
		return err
	}); err != nil {
		return err
	}
	return retry(func() error {
		if !fresh {
			if err := s.env.Client.Get(ctx, client.ObjectKeyFromObject(pj), pj); err != nil {
				return err
			}
		}
		pj.Status = st
		err := s.env.Client.Status().Update(ctx, pj)
		fresh = fresh && err == nil
		return err
	})
}

// retry retries f a few times: a loaded API server on a small machine times some writes out.
func retry(f func() error) error {
	var err error
	for attempt := range 6 {
		if err = f(); err == nil {
			return nil
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
	return err
}

// Plan plans one pass from the caches (no deletes) and checks that it found the 5,000.
func (s *Setup) Plan() error {
	var r sinker.Result
	plan, err := s.s.Plan(context.Background(), &r)
	if err != nil {
		return err
	}
	if len(plan.ProwJobs) != DueJobs || len(plan.Pods) != DuePods {
		return fmt.Errorf("planned %d ProwJobs and %d Pods, want %d and %d", len(plan.ProwJobs), len(plan.Pods), DueJobs, DuePods)
	}
	return nil
}

// ListBaseline lists the same ProwJobs and Pods from the API server once.
func (s *Setup) ListBaseline() error {
	ctx := context.Background()
	var pjs prowv1.ProwJobList
	if err := s.direct.List(ctx, &pjs, client.InNamespace(namespace)); err != nil {
		return err
	}
	var pods corev1.PodList
	if err := s.direct.List(ctx, &pods, client.InNamespace(namespace), client.MatchingLabels{prowv1.CreatedByProw: "true"}); err != nil {
		return err
	}
	if len(pjs.Items) != ProwJobs || len(pods.Items) != Pods {
		return fmt.Errorf("listed %d ProwJobs and %d Pods", len(pjs.Items), len(pods.Items))
	}
	return nil
}

// DeletePass runs a whole pass and returns how long until the 5,000 were deleted; it then
// recreates them and waits for the cache to hold them again.
func (s *Setup) DeletePass() (time.Duration, error) {
	start := time.Now()
	r := s.s.Pass(context.Background())
	took := time.Since(start)
	if err := r.Err(); err != nil {
		return took, err
	}
	if n := r.Deleted["prowjob"][sinker.ReasonProwJobAged] + r.Deleted["pod"][sinker.ReasonPodTTLed]; n != DueJobs+DuePods {
		return took, fmt.Errorf("deleted %d, want %d: %v", n, DueJobs+DuePods, r.Deleted)
	}
	return took, s.restore()
}

// DeleteBaseline deletes the same objects with a plain client-go loop at the same QPS.
func (s *Setup) DeleteBaseline() (time.Duration, error) {
	cs, err := kubernetes.NewForConfig(s.restConfig())
	if err != nil {
		return 0, err
	}
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < DueJobs; i++ {
		err := s.direct.Delete(ctx, &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "pj-" + strconv.Itoa(i)}})
		if err != nil {
			return 0, err
		}
	}
	for i := DueJobs; i < DueJobs+DuePods; i++ {
		if err := cs.CoreV1().Pods(namespace).Delete(ctx, "pj-"+strconv.Itoa(i), metav1.DeleteOptions{}); err != nil {
			return 0, err
		}
	}
	took := time.Since(start)
	return took, s.restore()
}

// restore recreates the due objects deleted by a run.
func (s *Setup) restore() error {
	ctx := context.Background()
	// A Pod deletion may still be in flight: wait until the names are free.
	for range 600 {
		var pods corev1.PodList
		if err := s.env.Client.List(ctx, &pods, client.InNamespace(namespace)); err != nil {
			return err
		}
		if len(pods.Items) <= Pods-DuePods {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := s.fill(ctx, 0, DueJobs+DuePods, false); err != nil {
		return fmt.Errorf("recreate the due objects: %w", err)
	}
	return s.waitCached(ctx, ProwJobs, Pods)
}
