package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
)

// managerFlags are the flags of every controller: where the cluster is, leader election, and
// where metrics and health are served.
type managerFlags struct {
	kubeconfig     string
	leaderElect    bool
	metricsAddr    string
	healthAddr     string
	qps            float32
	burst          int
	leaderElectNS  string
	leaderElectID  string
	defaultElectID string
}

func (f *managerFlags) add(cmd *cobra.Command, electionID string) {
	f.defaultElectID = electionID
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster ProwJobs live in (default: $KUBECONFIG, then in-cluster, then ~/.kube/config)")
	fl.BoolVar(&f.leaderElect, "leader-elect", true, "take a Lease so that one replica acts at a time")
	fl.StringVar(&f.leaderElectNS, "leader-election-namespace", "", "namespace of the Lease (default: prowjob_namespace)")
	fl.StringVar(&f.leaderElectID, "leader-election-id", electionID, "name of the Lease")
	fl.StringVar(&f.metricsAddr, "metrics-bind-address", ":8080", "where Prometheus metrics are served (0 to disable)")
	fl.StringVar(&f.healthAddr, "health-probe-bind-address", ":8081", "where /healthz and /readyz are served (0 to disable)")
	fl.Float32Var(&f.qps, "kube-api-qps", 300, "queries per second to the API server (client-go's default of 5 is what holds Prow back)")
	fl.IntVar(&f.burst, "kube-api-burst", 600, "burst of queries to the API server")
}

// restConfig is the cluster's client config, from --kubeconfig, $KUBECONFIG or in-cluster.
func (f *managerFlags) restConfig() (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if f.kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", f.kubeconfig)
	} else {
		cfg, err = ctrl.GetConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("find the cluster: %w (set --kubeconfig)", err)
	}
	cfg.QPS, cfg.Burst = f.qps, f.burst
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

// manager builds a controller-runtime manager whose cache holds the namespaces given.
func (f *managerFlags) manager(namespaces ...string) (ctrl.Manager, error) {
	return f.managerWith(nil, namespaces...)
}

// managerWith is manager with the options adjusted by tweak.
func (f *managerFlags) managerWith(tweak func(*ctrl.Options), namespaces ...string) (ctrl.Manager, error) {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr)))
	cfg, err := f.restConfig()
	if err != nil {
		return nil, err
	}
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	ns := map[string]cache.Config{}
	for _, n := range namespaces {
		ns[n] = cache.Config{}
	}
	electNS := f.leaderElectNS
	if electNS == "" && len(namespaces) > 0 {
		electNS = namespaces[0]
	}
	opts := ctrl.Options{
		Scheme:                  scheme,
		Cache:                   cache.Options{DefaultNamespaces: ns},
		LeaderElection:          f.leaderElect,
		LeaderElectionID:        f.leaderElectID,
		LeaderElectionNamespace: electNS,
		Metrics:                 metricsserver.Options{BindAddress: f.metricsAddr},
		HealthProbeBindAddress:  f.healthAddr,
	}
	if tweak != nil {
		tweak(&opts)
	}
	return ctrl.NewManager(cfg, opts)
}

// loadAgent loads the config for a long-running component: warnings printed, reload errors
// reported, the first load's errors returned.
func loadAgent(f *configFlags, stderr io.Writer) (*config.Agent, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	agent, warnings, err := config.NewAgent(f.options(false))
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %v\n", w)
	}
	if err != nil {
		return nil, fmt.Errorf("load config:\n%w", err)
	}
	agent.OnError = func(err error) { fmt.Fprintf(stderr, "config: %v\n", err) }
	return agent, nil
}

// runManager adds the health checks, watches the config files, and runs mgr until ctx ends.
func runManager(ctx context.Context, mgr ctrl.Manager, agent *config.Agent) error {
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	go func() { _ = agent.Watch(ctx, 200*time.Millisecond) }()
	return mgr.Start(ctx)
}
