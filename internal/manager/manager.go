// Package manager builds the controller-runtime manager every Prowl component runs in, with one
// set of defaults, so that `prowl up`, the single components and Hook's client talk to the API
// server the same way.
package manager

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
)

// Defaults of Options. client-go's own (5 queries per second, burst 10) are what hold Prow back
// at thousands of ProwJobs.
const (
	DefaultQPS         float32 = 300
	DefaultBurst               = 600
	DefaultMetricsAddr         = ":8080"
	DefaultHealthAddr          = ":8081"
)

// Leader election's timing, controller-runtime's (and kube-controller-manager's) defaults: a
// replica takes over 15 s at most after the leader stopped renewing.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// configWatchInterval is how often Run checks the config files for changes.
const configWatchInterval = 200 * time.Millisecond

// Options say where the cluster is and how a manager runs in it. The zero value of a field means
// its default; "0" for an address turns that server off.
type Options struct {
	// Kubeconfig is the cluster's kubeconfig; empty means $KUBECONFIG, then in-cluster, then
	// ~/.kube/config.
	Kubeconfig string
	// QPS and Burst limit the queries to the API server (DefaultQPS, DefaultBurst).
	QPS   float32
	Burst int
	// Namespaces are the namespaces the cache holds; the first is the default Lease namespace.
	Namespaces []string
	// LeaderElection takes a Lease named LeaderElectionID so that one replica acts at a time.
	LeaderElection          bool
	LeaderElectionID        string
	LeaderElectionNamespace string
	// LeaseDuration, RenewDeadline and RetryPeriod time leader election (the Default* values
	// when 0).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// MetricsAddr and HealthAddr are where Prometheus metrics and /healthz, /readyz are served.
	MetricsAddr string
	HealthAddr  string
	// ByObject narrows the cache for some kinds.
	ByObject map[client.Object]cache.ByObject
	// OnlyProwPods caches only the Pods labelled created-by-prow (Plank, Sinker): a busy build
	// cluster has many others.
	OnlyProwPods bool
	// PodNamespace, when set, splits the cache by kind: ProwJobs only in the other Namespaces
	// (prowjob_namespace), Pods only in PodNamespace. Plank then needs no list or watch of ProwJobs
	// where Pods run, nor of Pods where ProwJobs live.
	PodNamespace string
	// Transform, when set, is what the cache stores every object through (its DefaultTransform):
	// Deck's deck.NewTransform drops managedFields and shares what runs of a job have in common.
	Transform toolscache.TransformFunc
}

// RestConfig is the cluster's client config with the query limits applied.
func (o Options) RestConfig() (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if o.Kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	} else {
		cfg, err = ctrl.GetConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("find the cluster: %w (set --kubeconfig)", err)
	}
	cfg.QPS, cfg.Burst = DefaultQPS, DefaultBurst
	if o.QPS != 0 {
		cfg.QPS = o.QPS
	}
	if o.Burst != 0 {
		cfg.Burst = o.Burst
	}
	return cfg, nil
}

// Scheme knows the Kubernetes types and ProwJobs.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, prowv1.AddToScheme(s)
}

// Client is a direct (uncached) client of the cluster, for what runs outside a manager (Hook).
func (o Options) Client() (client.Client, error) {
	cfg, err := o.RestConfig()
	if err != nil {
		return nil, err
	}
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: scheme})
}

// New builds the manager. Its health checks are added; Run starts it.
func New(o Options) (ctrl.Manager, error) {
	cfg, err := o.RestConfig()
	if err != nil {
		return nil, err
	}
	return NewForConfig(cfg, o)
}

// NewForConfig is New for a client config already made (prowl up's local control plane).
func NewForConfig(cfg *rest.Config, o Options) (ctrl.Manager, error) {
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	ns := map[string]cache.Config{}
	for _, n := range o.Namespaces {
		ns[n] = cache.Config{}
	}
	electNS := o.LeaderElectionNamespace
	if electNS == "" && len(o.Namespaces) > 0 {
		electNS = o.Namespaces[0]
	}
	cacheOpts := cache.Options{DefaultNamespaces: ns, ByObject: o.byObject()}
	if o.Transform != nil {
		cacheOpts.DefaultTransform = o.Transform
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Cache:                   cacheOpts,
		LeaderElection:          o.LeaderElection,
		LeaderElectionID:        o.LeaderElectionID,
		LeaderElectionNamespace: electNS,
		LeaseDuration:           durationOr(o.LeaseDuration, DefaultLeaseDuration),
		RenewDeadline:           durationOr(o.RenewDeadline, DefaultRenewDeadline),
		RetryPeriod:             durationOr(o.RetryPeriod, DefaultRetryPeriod),
		Metrics:                 metricsserver.Options{BindAddress: orDefault(o.MetricsAddr, DefaultMetricsAddr)},
		HealthProbeBindAddress:  orDefault(o.HealthAddr, DefaultHealthAddr),
	})
	if err != nil {
		return nil, fmt.Errorf("make the controller manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	return mgr, nil
}

// byObject is ByObject with the Pod and ProwJob narrowing OnlyProwPods and PodNamespace ask for.
func (o Options) byObject() map[client.Object]cache.ByObject {
	if !o.OnlyProwPods && o.PodNamespace == "" {
		return o.ByObject
	}
	byObject := map[client.Object]cache.ByObject{}
	for k, v := range o.ByObject {
		byObject[k] = v
	}
	var pods cache.ByObject
	if o.OnlyProwPods {
		pods.Label = labels.SelectorFromSet(labels.Set{prowv1.CreatedByProw: "true"})
	}
	if o.PodNamespace != "" {
		pods.Namespaces = map[string]cache.Config{o.PodNamespace: {}}
		jobs := map[string]cache.Config{}
		for _, n := range o.Namespaces {
			if n != o.PodNamespace {
				jobs[n] = cache.Config{}
			}
		}
		if len(jobs) == 0 {
			jobs[o.PodNamespace] = cache.Config{}
		}
		byObject[&prowv1.ProwJob{}] = cache.ByObject{Namespaces: jobs}
	}
	byObject[&corev1.Pod{}] = pods
	return byObject
}

// durationOr is a pointer to d, or to def when d is 0: the manager's options take pointers.
func durationOr(d, def time.Duration) *time.Duration {
	if d == 0 {
		d = def
	}
	return &d
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Run watches the config files (reloading agent on change) and runs mgr until ctx ends.
func Run(ctx context.Context, mgr ctrl.Manager, agent *config.Agent) error {
	WatchConfig(ctx, agent)
	return mgr.Start(ctx)
}

// WatchConfig reloads agent whenever its files change, until ctx ends: for what runs without a
// manager (Hook). A failed reload is logged through ctx's logger and counted in
// prowl_config_reloads_total on the controller-runtime registry (the manager's /metrics).
func WatchConfig(ctx context.Context, agent *config.Agent) {
	if err := agent.Register(ctrlmetrics.Registry); err != nil {
		// Another agent of this process (prowl up) serves the metric already.
		logr.FromContextOrDiscard(ctx).V(1).Info("config reload metric not registered", "reason", err.Error())
	}
	go func() { _ = agent.Watch(ctx, configWatchInterval) }()
}
