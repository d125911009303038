package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/local"
	"github.com/prowl-ci/prowl/internal/manager"
)

// managerFlags are the flags of every controller: where the cluster is, leader election, and
// where metrics and health are served. They fill a manager.Options.
type managerFlags struct {
	opts manager.Options
}

func (f *managerFlags) add(cmd *cobra.Command, electionID string) {
	fl := cmd.Flags()
	addKubeconfigFlag(cmd, &f.opts.Kubeconfig)
	fl.BoolVar(&f.opts.LeaderElection, "leader-elect", true, "take a Lease so that one replica acts at a time")
	fl.StringVar(&f.opts.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the Lease (default: prowjob_namespace)")
	fl.StringVar(&f.opts.LeaderElectionID, "leader-election-id", electionID, "name of the Lease")
	fl.DurationVar(&f.opts.LeaseDuration, "leader-elect-lease-duration", manager.DefaultLeaseDuration, "how long a replica waits, after the leader stopped renewing (killed, say), before it takes the Lease")
	fl.DurationVar(&f.opts.RenewDeadline, "leader-elect-renew-deadline", manager.DefaultRenewDeadline, "how long the leader keeps trying to renew before it gives the Lease up and exits (shorter than the lease duration)")
	fl.DurationVar(&f.opts.RetryPeriod, "leader-elect-retry-period", manager.DefaultRetryPeriod, "how often replicas try to take or renew the Lease")
	fl.StringVar(&f.opts.MetricsAddr, "metrics-bind-address", manager.DefaultMetricsAddr, "where Prometheus metrics are served (0 to disable)")
	fl.StringVar(&f.opts.HealthAddr, "health-probe-bind-address", manager.DefaultHealthAddr, "where /healthz and /readyz are served (0 to disable)")
	addQPSFlags(cmd, &f.opts)
}

// options are the manager's options for a cache of the namespaces given.
func (f *managerFlags) options(namespaces ...string) manager.Options {
	o := f.opts
	o.Namespaces = namespaces
	return o
}

// addKubeconfigFlag adds --kubeconfig, the cluster ProwJobs live in.
func addKubeconfigFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "kubeconfig", "", "kubeconfig of the cluster ProwJobs live in (default: $KUBECONFIG, then in-cluster, then ~/.kube/config)")
}

// addQPSFlags adds the API server query limits, defaulting to manager's.
func addQPSFlags(cmd *cobra.Command, o *manager.Options) {
	fl := cmd.Flags()
	fl.Float32Var(&o.QPS, "kube-api-qps", manager.DefaultQPS, "queries per second to the API server (client-go's default of 5 is what holds Prow back)")
	fl.IntVar(&o.Burst, "kube-api-burst", manager.DefaultBurst, "burst of queries to the API server")
}

// loadAgent loads the config for a long-running component (local.LoadAgent) once the config
// flags are checked.
func loadAgent(f *configFlags, stderr io.Writer) (*config.Agent, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	return local.LoadAgent(f.options(false), stderr)
}
