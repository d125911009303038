package cli

import (
	"io"

	"github.com/spf13/cobra"
	"k8s.io/utils/clock"

	"github.com/prowl-ci/prowl/internal/artifacts"
	"github.com/prowl-ci/prowl/internal/events"
	"github.com/prowl-ci/prowl/internal/jobs"
	"github.com/prowl-ci/prowl/internal/manager"
	"github.com/prowl-ci/prowl/internal/plank"
	"github.com/prowl-ci/prowl/internal/storage"
)

func init() { subcommands = append(subcommands, newControllerManagerCommand) }

func newControllerManagerCommand(stdout, stderr io.Writer) *cobra.Command {
	var cfgFlags configFlags
	var mgrFlags managerFlags
	var workers int
	var buildClusters string
	var buildIDNode int64
	var store storage.Options
	cmd := &cobra.Command{
		Use:   "controller-manager --config-path FILE --job-config-path DIR [--kubeconfig FILE]",
		Short: "Run Plank: every ProwJob as a decorated Pod, driven to a final state",
		Long: `controller-manager runs Plank. It creates each triggered ProwJob's Pod (decorated with the pod
utilities) on its build cluster once capacity allows (plank.max_concurrency, the job's
max_concurrency, job queues), follows the Pod to success, failure, error or aborted, recreates
evicted or vanished Pods up to plank.max_revivals, stops Pods past their deadlines, and aborts
presubmits a newer run supersedes. Restarts are safe: a Pod is named after its ProwJob.
When a job ends it completes the run's artifact directory as Prow's Crier does: prowjob.json,
podinfo.json, and started.json, finished.json and a build-log.txt saying how the run ended where
the pod utilities could not write them.`,
		Example: `  prowl controller-manager --config-path config.yaml --job-config-path jobs/ --kubeconfig ~/.kube/config
  prowl controller-manager --config-path config.yaml --build-cluster-kubeconfig build-clusters.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			agent, err := loadAgent(&cfgFlags, stderr)
			if err != nil {
				return err
			}
			c := agent.Config()
			mo := mgrFlags.options(c.ProwJobNamespace, c.PodNamespace)
			mo.OnlyProwPods, mo.PodNamespace = true, c.PodNamespace
			mgr, err := manager.New(mo)
			if err != nil {
				return err
			}
			clusters, err := plank.BuildClusters(buildClusters, mgr.GetScheme(), c.PodNamespace)
			if err != nil {
				return err
			}
			ids, err := jobs.NewBuildIDs(buildIDNode)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if _, err := plank.Setup(ctx, mgr, plank.Options{Config: agent.Config, Clock: clock.RealClock{}, BuildIDs: ids, Workers: workers, BuildClusters: clusters}); err != nil {
				return err
			}
			if err := plank.AddClusterPublisher(mgr, c.ProwJobNamespace, clusters); err != nil {
				return err
			}
			if _, err := artifacts.Setup(mgr, artifacts.Options{Config: agent.Config, Clock: clock.RealClock{}, Storage: store,
				BuildClusters: clusters, BuildIDs: ids, Workers: 8, Recorder: events.New(mgr, "artifacts", nil)}); err != nil {
				return err
			}
			return manager.Run(ctx, mgr, agent)
		},
	}
	cfgFlags.add(cmd)
	mgrFlags.add(cmd, "prowl-plank")
	cmd.Flags().IntVar(&workers, "workers", 32, "ProwJobs reconciled at once (Prow's plank is fixed at 10)")
	cmd.Flags().StringVar(&buildClusters, "build-cluster-kubeconfig", "", "kubeconfig with one context per build cluster, named by the alias ProwJobs use in spec.cluster (\"default\" is the manager's own cluster)")
	cmd.Flags().StringVar(&store.GCSCredentialsFile, "gcs-credentials-file", "", "service-account key for gs:// buckets, where finished runs' prowjob.json, podinfo.json and missing finished.json are written (default: the environment's credentials)")
	cmd.Flags().StringVar(&store.S3CredentialsFile, "s3-credentials-file", "", "Prow's S3 credentials JSON for s3:// buckets (default: the AWS SDK's chain)")
	cmd.Flags().Int64Var(&buildIDNode, "build-id-node", -1, "this replica's build ID node number, 0-1023 (default: derived from the hostname)")
	return deployed(cmd)
}
