// Package sinker is Prow's Sinker: it deletes old ProwJobs and the Pods of finished ones, so
// that an installation does not grow without bound. A pass reads the ProwJobs and every build
// cluster's Pods from the caches, plans what is due by Prow's rules (PlanProwJobs, PlanPods),
// then deletes with bounded concurrency: ProwJobs first, then Pods. A build cluster whose cache
// cannot sync is reported and skipped; the others are cleaned.
package sinker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/events"
)

// Options configure Sinker.
type Options struct {
	Config func() *config.Config
	Clock  clock.Clock
	// DryRun plans and logs the deletions and makes none.
	DryRun bool
	// RunOnce makes the runnable stop after its first pass.
	RunOnce bool
	// BuildClusters are the clusters other than the manager's own ("default"), by alias.
	BuildClusters map[string]cluster.Cluster
	// StartBuildClusters makes Setup start BuildClusters with the manager, each on its own so
	// that one that is unreachable holds up nothing. Leave it false where Plank's Setup already
	// added the same clusters to the manager.
	StartBuildClusters bool
	// Workers is how many deletes run at once (default 16).
	Workers int
	// CacheSyncTimeout bounds the wait for a build cluster's cache in a pass (default 30 s).
	CacheSyncTimeout time.Duration
	// Recorder records Sinker's deletions on the ProwJobs; nil records none.
	Recorder *events.Recorder
	// AfterPass, when set, is called with each pass's result.
	AfterPass func(Result)
}

// Sinker deletes what is due.
type Sinker struct {
	// ProwJobs deletes ProwJobs.
	ProwJobs client.Client
	// ProwJobCache is the cache a pass reads ProwJobs from.
	ProwJobCache cache.Cache
	// Live reads a ProwJob from the API server itself, to confirm an orphan.
	Live client.Reader
	// Clusters are the build clusters by alias.
	Clusters map[string]PodCluster
	Options

	mu        sync.Mutex
	pjs       store[*prowv1.ProwJob]
	podStores map[string]*store[*corev1.Pod] // by cluster alias
}

// PodCluster is one build cluster: a client that deletes its Pods and the cache a pass reads
// them from.
type PodCluster struct {
	Client client.Client
	Cache  cache.Cache
}

// Result is what one pass did.
type Result struct {
	ProwJobs, Pods int
	// Deleted counts deletions by kind ("prowjob", "pod") and reason; in a dry run, what would
	// have been deleted.
	Deleted map[string]map[string]int
	Errors  []error
	// Took is how long the pass took, deletes included.
	Took time.Duration
}

// Err joins the pass's errors.
func (r Result) Err() error { return errors.Join(r.Errors...) }

// Setup adds Sinker to mgr as a runnable that runs a pass at start and then every
// sinker.resync_period, while this replica leads. The manager's cache must hold the ProwJob
// namespace and the pod namespace.
func Setup(mgr ctrl.Manager, o Options) (*Sinker, error) {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	s := &Sinker{ProwJobs: mgr.GetClient(), ProwJobCache: mgr.GetCache(), Live: mgr.GetAPIReader(), Options: o, Clusters: map[string]PodCluster{
		prowv1.DefaultClusterAlias: {Client: mgr.GetClient(), Cache: mgr.GetCache()},
	}}
	for name, c := range o.BuildClusters {
		s.Clusters[name] = PodCluster{Client: c.GetClient(), Cache: c.GetCache()}
		if o.StartBuildClusters {
			if err := mgr.Add(&clusterRunnable{c: c}); err != nil {
				return nil, fmt.Errorf("add build cluster %s: %w", name, err)
			}
		}
	}
	if err := mgr.Add(s); err != nil {
		return nil, err
	}
	return s, nil
}

// clusterRunnable starts a build cluster's cache on its own, not among the manager's caches,
// whose start waits for every one to sync: an unreachable build cluster would stop all.
type clusterRunnable struct{ c cluster.Cluster }

func (r *clusterRunnable) NeedLeaderElection() bool { return false }

func (r *clusterRunnable) Start(ctx context.Context) error {
	// The Pod informer starts now, not at the first pass's List.
	go func() { _, _ = r.c.GetCache().GetInformer(ctx, &corev1.Pod{}) }()
	return r.c.Start(ctx)
}

// NeedLeaderElection is true: two replicas would delete the same objects.
func (s *Sinker) NeedLeaderElection() bool { return true }

// Start runs passes until ctx ends (or after one, with RunOnce). The resync period is read
// again after every pass, so that a config change takes effect without a restart.
func (s *Sinker) Start(ctx context.Context) error {
	log := ctrl.Log.WithName("sinker")
	ctx = logr.NewContext(ctx, log)
	for {
		r := s.Pass(ctx)
		if err := r.Err(); err != nil {
			log.Error(err, "pass left objects behind; the next pass retries them")
		}
		log.Info("pass done", "prowjobs", r.ProwJobs, "pods", r.Pods, "deleted", r.Deleted, "took", r.Took.String(), "dryRun", s.DryRun)
		if s.AfterPass != nil {
			s.AfterPass(r)
		}
		if s.RunOnce {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.Clock.After(s.Config().Sinker.ResyncPeriod.Duration):
		}
	}
}

// Pass runs one pass: plan from the caches, then delete.
func (s *Sinker) Pass(ctx context.Context) Result {
	start := s.Clock.Now()
	r := Result{Deleted: map[string]map[string]int{"prowjob": {}, "pod": {}}}
	plan, err := s.Plan(ctx, &r)
	if err != nil {
		r.Errors = append(r.Errors, err)
		return r
	}
	s.execute(ctx, plan, &r)
	r.Took = s.Clock.Since(start)
	observe(r)
	return r
}

// Plan reads the caches and returns what is due; r gets the counts and the clusters' errors.
func (s *Sinker) Plan(ctx context.Context, r *Result) (Plan, error) {
	cfg := s.Config()
	now := s.Clock.Now()
	if err := s.pjs.attach(ctx, s.ProwJobCache, &prowv1.ProwJob{}); err != nil {
		return Plan{}, err
	}
	if !s.pjs.synced(ctx) {
		return Plan{}, fmt.Errorf("the ProwJob cache did not sync: %w", ctx.Err())
	}
	pjs := s.pjs.list(cfg.ProwJobNamespace, "", "")
	byName := make(map[string]*prowv1.ProwJob, len(pjs))
	for _, pj := range pjs {
		byName[pj.Name] = pj
	}
	r.ProwJobs = len(pjs)
	var plan Plan
	plan.ProwJobs = PlanProwJobs(cfg, now, pjs)
	going := make(map[string]bool, len(plan.ProwJobs))
	for _, d := range plan.ProwJobs {
		going[d.ProwJob.Name] = true
	}
	excluded := map[string]bool{}
	for _, c := range cfg.Sinker.ExcludeClusters {
		excluded[c] = true
	}
	names := make([]string, 0, len(s.Clusters))
	for name := range s.Clusters {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if excluded[name] {
			continue
		}
		pods, err := s.pods(ctx, name, cfg.PodNamespace)
		if err != nil {
			r.Errors = append(r.Errors, err)
			continue
		}
		r.Pods += len(pods)
		plan.Pods = append(plan.Pods, PlanPods(cfg, now, name, pods, byName, going)...)
	}
	return plan, nil
}

// pods returns a build cluster's Pods made by Prow in namespace from its cache, once it has
// synced.
func (s *Sinker) pods(ctx context.Context, name, namespace string) ([]*corev1.Pod, error) {
	c := s.Clusters[name]
	timeout := s.CacheSyncTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	syncCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st := s.podStore(name)
	if err := st.attach(syncCtx, c.Cache, &corev1.Pod{}); err != nil {
		clusterErrors.WithLabelValues(name).Inc()
		return nil, fmt.Errorf("build cluster %s: %w", name, err)
	}
	if !st.synced(syncCtx) {
		clusterErrors.WithLabelValues(name).Inc()
		return nil, fmt.Errorf("build cluster %s: its Pod cache did not sync within %v (is it reachable?); its Pods are left for the next pass", name, timeout)
	}
	return st.list(namespace, prowv1.CreatedByProw, "true"), nil
}

// podStore is the store of a build cluster's Pods.
func (s *Sinker) podStore(name string) *store[*corev1.Pod] {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.podStores == nil {
		s.podStores = map[string]*store[*corev1.Pod]{}
	}
	if s.podStores[name] == nil {
		s.podStores[name] = &store[*corev1.Pod]{}
	}
	return s.podStores[name]
}
