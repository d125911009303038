package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func init() {
	subcommands = append(subcommands, newHookCommand, newCrierCommand)
}

func newHookCommand(stdout, stderr io.Writer) *cobra.Command {
	var cfgFlags configFlags
	var gh githubFlags
	var hf hookFlags
	var kubeconfig string
	var port int
	cmd := &cobra.Command{
		Use:   "hook --config-path FILE --job-config-path DIR --hmac-secret-file FILE --github-token-path FILE [--plugin-config FILE]",
		Short: "Receive GitHub webhooks; the trigger plugin starts presubmits and postsubmits",
		Long: `hook serves POST /hook for GitHub's webhooks on --port (default 8888), with GET /healthz and
GET /metrics. Each webhook needs X-GitHub-Event, X-GitHub-Delivery, a JSON body and
X-Hub-Signature-256 signed with a secret of --hmac-secret-file; Hook answers 405 (not POST), 400
(missing headers, not JSON), 403 (bad signature), 413 (over 25 MB) or 200 at once, then hands the
event to the trigger plugin in the background. A delivery already received is not handled twice.

Trigger, as Prow's: pull requests opened, reopened, ready for review or pushed to run the
presubmits that should run (always_run, run_if_changed, skip_if_only_changed, branches) when the
author is trusted (a member of the org or of a trusted org, a collaborator unless
only_org_members, a trusted app) or the PR has ok-to-test; an untrusted PR is asked for
/ok-to-test once. Comments: /test <job>, /test all, /retest, /ok-to-test, /test ?. Pushes to a
branch run its postsubmits. Without --plugin-config, trigger is on for every repository with jobs.`,
		Example: `  prowl hook --config-path config.yaml --job-config-path jobs/ --plugin-config plugins.yaml \
    --hmac-secret-file hmac --github-token-path token --kubeconfig ~/.kube/config`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctrl.SetLogger(zap.New(zap.WriteTo(stderr)))
			if gh.set() && hf.hmacSecretFile == "" {
				return usageError{fmt.Errorf("hook needs --hmac-secret-file: it only accepts webhooks signed with that secret")}
			}
			agent, ghc, err := loadWithGitHub("hook", &cfgFlags, &gh, stderr)
			if err != nil {
				return err
			}
			pl, err := pluginLoader(hf.pluginConfig, agent, stderr)
			if err != nil {
				return err
			}
			mf := managerFlags{kubeconfig: kubeconfig, qps: 300, burst: 600}
			restCfg, err := mf.restConfig()
			if err != nil {
				return err
			}
			scheme, err := Scheme()
			if err != nil {
				return err
			}
			kc, err := client.New(restCfg, client.Options{Scheme: scheme})
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			go func() { _ = agent.Watch(ctx, 200*time.Millisecond) }()
			return serveHook(ctx, fmt.Sprintf(":%d", port), &hf, pl, agent, ghc, kc, ctrl.Log, func(addr string) {
				fmt.Fprintf(stdout, "hook listening on %s: point GitHub's webhook at http://HOST:%d/hook\n", addr, port)
			})
		},
	}
	cfgFlags.add(cmd)
	gh.add(cmd)
	hf.add(cmd)
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster ProwJobs live in (default: $KUBECONFIG, then in-cluster, then ~/.kube/config)")
	cmd.Flags().IntVar(&port, "port", 8888, "port to serve webhooks on")
	return cmd
}

func newCrierCommand(stdout, stderr io.Writer) *cobra.Command {
	var cfgFlags configFlags
	var gh githubFlags
	var mgrFlags managerFlags
	var workers int
	cmd := &cobra.Command{
		Use:   "crier --config-path FILE --job-config-path DIR --github-token-path FILE [--kubeconfig FILE]",
		Short: "Report ProwJobs to GitHub: commit statuses and a summary comment of failures",
		Long: `crier reports every ProwJob with report: true (presubmits and postsubmits with a context and not
skip_report) as a commit status on the tested SHA (the pull request's head, or the pushed SHA):
triggered and pending are pending, success is success, failure and aborted are failure, error is
error; target_url is the job's status.url. A status is sent only when the job's state changed since
its last report (status.prev_report_states["github-reporter"]). One comment per pull request lists
the failed jobs with their rerun commands; it is edited as results come and deleted once none fails.`,
		Example: `  prowl crier --config-path config.yaml --job-config-path jobs/ --github-token-path token --kubeconfig ~/.kube/config`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			agent, ghc, err := loadWithGitHub("crier", &cfgFlags, &gh, stderr)
			if err != nil {
				return err
			}
			mgr, err := mgrFlags.manager(agent.Config().ProwJobNamespace)
			if err != nil {
				return err
			}
			if err := setupCrier(mgr, agent, ghc, workers); err != nil {
				return err
			}
			fmt.Fprintln(stdout, "crier reporting ProwJobs to", gh.endpoint)
			return runManager(cmd.Context(), mgr, agent)
		},
	}
	cfgFlags.add(cmd)
	gh.add(cmd)
	mgrFlags.add(cmd, "prowl-crier")
	cmd.Flags().IntVar(&workers, "github-workers", 10, "reports sent at once")
	return cmd
}
