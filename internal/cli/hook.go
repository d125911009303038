package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/prowl-ci/prowl/internal/crier"
	"github.com/prowl-ci/prowl/internal/events"
	"github.com/prowl-ci/prowl/internal/hook"
	"github.com/prowl-ci/prowl/internal/local"
	"github.com/prowl-ci/prowl/internal/manager"
	"github.com/prowl-ci/prowl/internal/trigger"
)

func init() {
	subcommands = append(subcommands, newHookCommand, newCrierCommand)
}

const hookLong = `hook serves POST /hook for GitHub's webhooks on --port (default 8888), with GET /healthz and
GET /metrics. Each webhook needs X-GitHub-Event, X-GitHub-Delivery, a JSON body and
X-Hub-Signature-256 signed with a secret of --hmac-secret-file; Hook answers 405 (not POST), 400
(missing headers, not JSON), 403 (bad signature), 413 (over 25 MB) or 200 at once, then hands the
event to the trigger plugin in the background. A delivery already received is not handled twice.
With --spool-dir each accepted delivery is kept on disk until handled: a Hook killed before it
handled some handles them when it starts again on that directory.

Trigger, as Prow's: pull requests opened, reopened, ready for review or pushed to run the
presubmits that should run (always_run, run_if_changed, skip_if_only_changed, branches) when the
author is trusted (a member of the org or of a trusted org, a collaborator unless
only_org_members, a trusted app) or the PR has ok-to-test; an untrusted PR is asked for
/ok-to-test once. Comments: /test <job>, /test all, /retest, /ok-to-test, /test ?. Pushes to a
branch run its postsubmits. Without --plugin-config, trigger is on for every repository with jobs.`

func newHookCommand(stdout, stderr io.Writer) *cobra.Command {
	var cfgFlags configFlags
	var gh githubFlags
	var hf hookFlags
	var mo manager.Options
	var port int
	cmd := &cobra.Command{
		Use:   "hook --config-path FILE --job-config-path DIR --hmac-secret-file FILE --github-token-path FILE [--plugin-config FILE]",
		Short: "Receive GitHub webhooks; the trigger plugin starts presubmits and postsubmits",
		Long:  hookLong,
		Example: `  prowl hook --config-path config.yaml --job-config-path jobs/ --plugin-config plugins.yaml \
    --hmac-secret-file hmac --github-token-path token --kubeconfig ~/.kube/config`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if gh.hasCredentials() && hf.hmacSecretFile == "" {
				return usageError{fmt.Errorf("hook needs --hmac-secret-file: it only accepts webhooks signed with that secret")}
			}
			agent, ghc, err := loadWithGitHub("hook", &cfgFlags, &gh, stderr)
			if err != nil {
				return err
			}
			pl, err := hook.LoadPlugins(hf.pluginConfig, agent.Config(), func(err error) {
				fmt.Fprintf(stderr, "plugins: %v (keeping the last good config)\n", err)
			})
			if err != nil {
				return err
			}
			if hf.pluginConfig == "" {
				fmt.Fprintf(stderr, "no --plugin-config: trigger is enabled for the %d repositories with jobs, trusting their org members and collaborators\n", len(pl.Config().Plugins))
			}
			kc, err := mo.Client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			manager.WatchConfig(ctx, agent)
			o := hf.options()
			o.Addr = fmt.Sprintf(":%d", port)
			restCfg, err := mo.RestConfig()
			if err != nil {
				return err
			}
			rec, err := events.NewForConfig(ctx, restCfg, kc.Scheme(), "trigger")
			if err != nil {
				return err
			}
			trig := &trigger.Trigger{GitHub: ghc, Client: kc, Config: agent.Config, Plugins: pl.Config, Recorder: rec}
			o.Handle = trig.Handle
			o.Ready = func(addr string) {
				fmt.Fprintf(stdout, "hook listening on %s: point GitHub's webhook at http://HOST:%d/hook\n", addr, port)
			}
			return o.Run(ctx)
		},
	}
	cfgFlags.add(cmd)
	gh.add(cmd)
	hf.add(cmd)
	addKubeconfigFlag(cmd, &mo.Kubeconfig)
	addQPSFlags(cmd, &mo)
	cmd.Flags().IntVar(&port, "port", 8888, "port to serve webhooks on")
	return deployed(cmd)
}

const crierLong = `crier reports every ProwJob with report: true (presubmits and postsubmits with a context and not
skip_report) as a commit status on the tested SHA (the pull request's head, or the pushed SHA):
triggered and pending are pending, success is success, failure and aborted are failure, error is
error; target_url is the job's status.url. A status is sent only when the job's state changed since
its last report (status.prev_report_states["github-reporter"]). One comment per pull request lists
the failed jobs with their rerun commands; it is edited as results come and deleted once none fails.`

func newCrierCommand(stdout, stderr io.Writer) *cobra.Command {
	var cfgFlags configFlags
	var gh githubFlags
	var mgrFlags managerFlags
	var workers int
	cmd := &cobra.Command{
		Use:     "crier --config-path FILE --job-config-path DIR --github-token-path FILE [--kubeconfig FILE]",
		Short:   "Report ProwJobs to GitHub: commit statuses and a summary comment of failures",
		Long:    crierLong,
		Example: `  prowl crier --config-path config.yaml --job-config-path jobs/ --github-token-path token --kubeconfig ~/.kube/config`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			agent, ghc, err := loadWithGitHub("crier", &cfgFlags, &gh, stderr)
			if err != nil {
				return err
			}
			mgr, err := manager.New(mgrFlags.options(agent.Config().ProwJobNamespace))
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			r := &crier.Reporter{GitHub: ghc, Client: mgr.GetClient(), Config: agent.Config}
			if err := r.Setup(mgr, workers); err != nil {
				return err
			}
			fmt.Fprintln(stdout, "crier reporting ProwJobs to", gh.endpoint)
			return manager.Run(ctx, mgr, agent)
		},
	}
	cfgFlags.add(cmd)
	gh.add(cmd)
	mgrFlags.add(cmd, "prowl-crier")
	cmd.Flags().IntVar(&workers, "github-workers", local.DefaultCrierWorkers, "reports sent at once")
	return deployed(cmd)
}
