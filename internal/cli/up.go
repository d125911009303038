package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/prowl-ci/prowl/internal/local"
)

func init() { subcommands = append(subcommands, newUpCommand) }

const upLong = `up runs Horologium, Plank, Sinker and Deck (with each run's page) in one process. Without --kubeconfig it first starts a local
kube-apiserver and etcd on loopback (built from their Go modules into ~/.cache/prowl on first
use, about 7 minutes once, with progress shown), keeping their data in
--data-dir so a restart keeps every ProwJob, and writes an admin kubeconfig there. Without config
flags it runs the embedded examples (the seed's echo-test periodic). Ctrl-C stops everything.

Locally a node runs each Pod's containers as processes on this machine (as root, each in a mount
namespace of its own where its volumes appear), each in its image, pulled into --data-dir, with
the pod utilities of prowl.local/ images built beside prowl, or prowl itself where they are not.
With --host-filesystem (the default for a config whose utility_images are prowl.local/..., as the
embedded examples') containers run on this machine's filesystem and images are not pulled; the
start-up output says which. With --kubeconfig it uses that cluster and starts no node.

Without GitHub credentials it runs a local GitHub on --git-addr: the repositories (the example one,
and any made with 'prowl repo create') take pushes, and 'prowl pr' opens, comments on and labels
pull requests; each sends Hook the webhook GitHub would, Trigger starts presubmits and postsubmits,
and Crier reports statuses and comments back to it. <data-dir>/members.yaml says who is trusted.

With GitHub credentials (--github-token-path, or --github-app-id and --github-app-private-key-path)
Crier reports results to GitHub instead, and with --hmac-secret-file too Hook serves webhooks on
--hook-addr (default :8888) and its trigger plugin starts presubmits and postsubmits.

Deck serves on --deck-addr (default 127.0.0.1:8080) and every job's status.url points at its run
page. Without GitHub credentials the person at this machine may rerun and abort without logging in.`

func newUpCommand(stdout, stderr io.Writer) *cobra.Command {
	var cfgFlags configFlags
	var gh githubFlags
	var hf hookFlags
	var deckOpts local.DeckOptions
	o := local.UpOptions{Stdout: stdout, Stderr: stderr}
	cmd := &cobra.Command{
		Use:   "up [--config-path FILE --job-config-path DIR] [--kubeconfig FILE] [--data-dir DIR]",
		Short: "Run Prowl in one process: a local control plane (or your cluster), Horologium, Plank, Sinker, Deck, Hook and Crier",
		Long:  upLong,
		Example: `  prowl up
  prowl up --config-path config.yaml --job-config-path jobs/ --kubeconfig ~/.kube/config`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.DataDir, err = dataDirOrDefault(o.DataDir); err != nil {
				return err
			}
			o.Config = cfgFlags.options(false)
			o.Node.HostFilesystem = hostFilesystem(cmd)
			// Deck first: every status.url, and the link Crier sends to GitHub, opens its run page.
			deckOpts.Local = !gh.hasCredentials()
			if err := deckOpts.Listen(); err != nil {
				return err
			}
			o.Components = append(o.Components, local.DeckComponent(&deckOpts))
			o.JobURLPrefix = deckOpts.URL() + "view/"
			ghOpts := local.GitHubOptions{Client: gh.options(), Hook: hf.options(), PluginConfig: hf.pluginConfig}
			if !gh.hasCredentials() {
				// No GitHub: the local one serves the repositories, and Hook and Crier talk to it.
				lg := &local.Forge{Addr: o.GitAddr, DataDir: o.DataDir}
				if err := lg.Start(cmd.Context()); err != nil {
					return err
				}
				o.LocalGitHub = lg
				deckOpts.Pulls = lg
				o.Components = append(o.Components, lg.Component())
				ho := hf.options()
				if !cmd.Flags().Changed("hook-addr") {
					ho.Addr = "127.0.0.1:0" // only the local GitHub sends it webhooks
				}
				ghOpts = lg.GitHubOptions(ho, hf.pluginConfig)
			} else {
				fmt.Fprintln(stdout, "GitHub credentials given: Hook and Crier use that GitHub; the local GitHub (prowl pr) is off")
			}
			if ghOpts.Hook.Spool == "" {
				ghOpts.Hook.Spool = filepath.Join(o.DataDir, "hook-spool") // kept across restarts, as the data dir is
			}
			if ghOpts.Client.TokenPath != "" || ghOpts.Client.AppID != "" {
				comps, err := local.GitHubComponents(ghOpts)
				if err != nil {
					return err
				}
				o.Components = append(o.Components, comps...)
			}
			return o.Run(cmd.Context())
		},
	}
	cfgFlags.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&o.Kubeconfig, "kubeconfig", "", "use this cluster instead of starting a local control plane")
	gh.add(cmd)
	hf.add(cmd)
	fl.StringVar(&hf.addr, "hook-addr", ":8888", "where Hook serves webhooks (with GitHub credentials and --hmac-secret-file; with the local GitHub, a free loopback port unless set)")
	fl.StringVar(&deckOpts.Addr, "deck-addr", local.DefaultDeckAddr, "where Deck serves the job list and each run's page (status.url points here)")
	fl.StringVar(&o.GitAddr, "git-addr", "127.0.0.1:8889", "where the repositories (and, without GitHub credentials, the local GitHub's API) are served over HTTP")
	addHostFilesystemFlag(cmd, "run the local node's containers")
	fl.StringSliceVar(&o.Periodics, "periodics", nil, fmt.Sprintf("the periodics Horologium starts: all, none, or names (default: all of a config with up to %d, else none)", local.MaxPeriodicsByDefault))
	fl.StringSliceVar(&o.BuildClusters, "build-clusters", nil, "the build cluster aliases whose jobs the local node runs: all, default, or names (default: all)")
	fl.StringVar(&o.DataDir, "data-dir", "", "where the local control plane keeps its data and kubeconfig (default ~/.local/share/prowl)")
	return cmd
}

// dataDirOrDefault is dir, or `prowl up`'s default data dir, which `prowl node` and `prowl pr`
// share.
func dataDirOrDefault(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "share", "prowl"), nil
}
