package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/utils/clock"

	"github.com/prowl-ci/prowl/internal/events"
	"github.com/prowl-ci/prowl/internal/manager"
	"github.com/prowl-ci/prowl/internal/plank"
	"github.com/prowl-ci/prowl/internal/sinker"
)

func init() { subcommands = append(subcommands, newSinkerCommand) }

func newSinkerCommand(stdout, stderr io.Writer) *cobra.Command {
	var cfgFlags configFlags
	var mgrFlags managerFlags
	var o sinker.Options
	var buildClusters string
	cmd := &cobra.Command{
		Use:   "sinker --config-path FILE --job-config-path DIR [--kubeconfig FILE] [--dry-run] [--run-once]",
		Short: "Delete old ProwJobs and the Pods of finished ones, by Prow's rules",
		Long: `sinker deletes, every sinker.resync_period (1h), what Prow's Sinker deletes: completed ProwJobs
that started longer ago than sinker.max_prowjob_age (168h), except the newest run of each periodic
still in the config; and, in every build cluster but sinker.exclude_clusters, the Pods labelled
created-by-prow in pod_namespace that are aged (started longer ago than sinker.max_pod_age, 24h)
or ttled (their ProwJob completed longer ago than sinker.terminated_pod_ttl), unless their ProwJob
is not complete, and orphans (older than 30s, their ProwJob gone) whatever their state.
A ProwJob that is not complete is never deleted. It reads from caches and deletes --workers at
a time; a build cluster that cannot be reached is reported and the others are cleaned.
Unlike Prow's, --dry-run is false by default (see docs/sinker.md).`,
		Example: `  prowl sinker --config-path config.yaml --job-config-path jobs/ --kubeconfig ~/.kube/config
  prowl sinker --config-path config.yaml --build-cluster-kubeconfig build-clusters.yaml --dry-run --run-once`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			agent, err := loadAgent(&cfgFlags, stderr)
			if err != nil {
				return err
			}
			c := agent.Config()
			mo := mgrFlags.options(c.ProwJobNamespace, c.PodNamespace)
			// ProwJobs only in prowjob_namespace and Pods only in pod_namespace, as the
			// controller manager's cache: the Role grants no more.
			mo.OnlyProwPods, mo.PodNamespace = true, c.PodNamespace
			mgr, err := manager.New(mo)
			if err != nil {
				return err
			}
			scheme, err := manager.Scheme()
			if err != nil {
				return err
			}
			if o.BuildClusters, err = plank.BuildClusters(buildClusters, scheme, c.PodNamespace); err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			var last sinker.Result
			o.Config, o.Clock, o.StartBuildClusters = agent.Config, clock.RealClock{}, true
			o.Recorder = events.New(mgr, "sinker", nil)
			if o.RunOnce {
				o.AfterPass = func(r sinker.Result) { last = r; cancel() }
			}
			if _, err := sinker.Setup(mgr, o); err != nil {
				return err
			}
			if err := manager.Run(ctx, mgr, agent); err != nil {
				return err
			}
			return last.Err()
		},
	}
	cfgFlags.add(cmd)
	mgrFlags.add(cmd, "prow-sinker-leaderlock")
	fl := cmd.Flags()
	fl.BoolVar(&o.RunOnce, "run-once", false, "run one pass, then exit (non-zero if anything due could not be deleted)")
	fl.BoolVar(&o.DryRun, "dry-run", false, "log what would be deleted and delete nothing (Prow's default is true; Prowl's is false)")
	fl.IntVar(&o.Workers, "workers", 16, "deletes at once")
	fl.StringVar(&buildClusters, "build-cluster-kubeconfig", "", "kubeconfig with one context per build cluster, named by the alias ProwJobs use in spec.cluster (\"default\" is the manager's own cluster)")
	return deployed(cmd)
}
