package plank

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/events"
)

// Options configure Plank's controller.
type Options struct {
	Config func() *config.Config
	Clock  clock.PassiveClock
	// BuildIDs hands out build IDs.
	BuildIDs BuildIDs
	// Workers is how many ProwJobs are reconciled at once.
	Workers int
	// BuildClusters are clusters other than the manager's own, by alias, whose Pods Plank runs.
	BuildClusters map[string]cluster.Cluster
	// LocalClusters are aliases whose jobs run on the manager's own cluster, as "default"'s do
	// ("*": every alias not in BuildClusters): prowl up runs an organisation's jobs on its one
	// local node.
	LocalClusters []string
	// Recorder records each job's steps as Events; nil: one of the manager's, named plank.
	Recorder *events.Recorder
}

// Setup adds Plank to mgr: the cache indexes, the controller over ProwJobs and the Pods of every
// build cluster, and a metric of jobs by state.
func Setup(ctx context.Context, mgr ctrl.Manager, o Options) (*Reconciler, error) {
	for name, fn := range indexers() {
		if err := mgr.GetFieldIndexer().IndexField(ctx, &prowv1.ProwJob{}, name, fn); err != nil {
			return nil, fmt.Errorf("index prowjobs: %w", err)
		}
	}
	r := &Reconciler{
		Client:        mgr.GetClient(),
		BuildClusters: map[string]client.Client{prowv1.DefaultClusterAlias: mgr.GetClient()},
		LiveReaders:   map[string]client.Reader{prowv1.DefaultClusterAlias: mgr.GetAPIReader()},
		Config:        o.Config,
		Clock:         o.Clock,
		BuildIDs:      o.BuildIDs,
		Recorder:      o.Recorder,
	}
	if r.Recorder == nil {
		r.Recorder = events.New(mgr, "plank", o.Clock)
	}
	for _, alias := range o.LocalClusters {
		if alias == "*" {
			r.AnyClusterLocal = true
			continue
		}
		r.BuildClusters[alias] = mgr.GetClient()
		r.LiveReaders[alias] = mgr.GetAPIReader()
	}
	for name, c := range o.BuildClusters {
		if err := mgr.Add(c); err != nil {
			return nil, err
		}
		r.BuildClusters[name] = c.GetClient()
		r.LiveReaders[name] = c.GetAPIReader()
	}
	// A Pod is named after its ProwJob, which lives in prowjob_namespace.
	podToProwJob := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, pod client.Object) []reconcile.Request {
		if pod.GetLabels()[prowv1.CreatedByProw] != "true" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.Config().ProwJobNamespace, Name: pod.GetName()}}}
	})
	b := ctrl.NewControllerManagedBy(mgr).
		Named("plank").
		For(&prowv1.ProwJob{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(obj client.Object) bool {
			return plankRuns(obj.(*prowv1.ProwJob))
		}))).
		Watches(&prowv1.ProwJob{}, handler.Funcs{UpdateFunc: r.wakeWaiting}).
		Watches(&corev1.Pod{}, podToProwJob).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(o.Workers, 1)})
	for _, c := range o.BuildClusters {
		b = b.WatchesRawSource(source.Kind(c.GetCache(), client.Object(&corev1.Pod{}), podToProwJob))
	}
	if err := b.Complete(r); err != nil {
		return nil, err
	}
	registerStateMetric(mgr.GetCache())
	return r, nil
}

var (
	registerOnce sync.Once
	collector    = &stateCollector{desc: prometheus.NewDesc("prowl_prowjobs", "ProwJobs in the cache, by state.", []string{"state"}, nil)}
)

// registerStateMetric counts ProwJobs by state from the cache at each scrape. The collector is
// registered once per process and reads the cache of the latest manager set up.
func registerStateMetric(reader client.Reader) {
	collector.reader.Store(&reader)
	registerOnce.Do(func() { ctrlmetrics.Registry.MustRegister(collector) })
}

type stateCollector struct {
	reader atomic.Pointer[client.Reader]
	desc   *prometheus.Desc
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect reports every state, with 0 for those no ProwJob is in, so the series stay put.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	reader := c.reader.Load()
	if reader == nil {
		return
	}
	var list prowv1.ProwJobList
	if err := (*reader).List(context.Background(), &list, client.UnsafeDisableDeepCopy); err != nil {
		return
	}
	counts := map[prowv1.ProwJobState]int{}
	for _, s := range []prowv1.ProwJobState{prowv1.SchedulingState, prowv1.TriggeredState, prowv1.PendingState, prowv1.SuccessState,
		prowv1.FailureState, prowv1.AbortedState, prowv1.ErrorState} {
		counts[s] = 0
	}
	for i := range list.Items {
		counts[state(&list.Items[i])]++
	}
	for s, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), string(s))
	}
}
