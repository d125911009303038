package cli

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/prowl-ci/prowl/internal/deck"
	"github.com/prowl-ci/prowl/internal/deck/auth"
	"github.com/prowl-ci/prowl/internal/github"
	"github.com/prowl-ci/prowl/internal/manager"
	"github.com/prowl-ci/prowl/internal/plugins"
	"github.com/prowl-ci/prowl/internal/trigger"
)

func init() { subcommands = append(subcommands, newDeckCommand) }

// deckFlags are Prow's Deck flags that Prowl's Deck takes.
type deckFlags struct {
	port                           int
	rerunCreatesJob, allowInsecure bool
	cookieSecret, oauthConfig      string
	githubHost, pluginConfig       string
	local, showHidden              bool
}

func (f *deckFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntVar(&f.port, "port", 8080, "port to serve on")
	fl.BoolVar(&f.rerunCreatesJob, "rerun-creates-job", false, "let POST /rerun create the job (Prow's flag; only for Decks whose users may rerun)")
	fl.StringVar(&f.cookieSecret, "cookie-secret", "", "file with base64 of 32 random bytes that signs session cookies and CSRF tokens (openssl rand -base64 32)")
	fl.StringVar(&f.oauthConfig, "github-oauth-config-file", "", "Prow's GitHub OAuth App config (client_id, client_secret, redirect_url, scopes): turns on GitHub login")
	fl.StringVar(&f.githubHost, "github-host", "github.com", "GitHub's web host for OAuth login (a host for https, or a URL)")
	fl.StringVar(&f.pluginConfig, "plugin-config", "", "Prow's plugins.yaml: users the trigger plugin trusts may rerun presubmits of their pull requests")
	fl.BoolVar(&f.allowInsecure, "allow-insecure", false, "send cookies over plain HTTP too (Prow's flag; for a Deck without TLS)")
	fl.BoolVar(&f.showHidden, "show-hidden", false, "show jobs marked hidden: true too (Prow's flag)")
	fl.BoolVar(&f.local, "local", false, "let requests from this machine (loopback) rerun and abort without logging in, as prowl up does without GitHub")
}

// githubWeb is --github-host as a URL.
func githubWeb(host string) (string, error) {
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	u, err := url.Parse(host)
	if err != nil || u.Host == "" {
		return "", usageError{fmt.Errorf("--github-host %q is not a host or URL", host)}
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// deckAuth is the login and CSRF setup from the flags.
func (f *deckFlags) auth(gh *githubFlags) (*auth.Auth, error) {
	o := auth.Options{Secure: !f.allowInsecure, GitHubAPI: gh.endpoint}
	var err error
	if o.GitHubURL, err = githubWeb(f.githubHost); err != nil {
		return nil, err
	}
	if f.cookieSecret != "" {
		if o.Secret, err = auth.LoadCookieSecret(f.cookieSecret); err != nil {
			return nil, err
		}
	}
	if f.oauthConfig != "" {
		if f.cookieSecret == "" {
			return nil, usageError{fmt.Errorf("--github-oauth-config-file needs --cookie-secret: sessions are signed with it")}
		}
		if o.OAuth, err = auth.LoadOAuthConfig(f.oauthConfig); err != nil {
			return nil, err
		}
	}
	return auth.New(o)
}

func newDeckCommand(stdout, stderr io.Writer) *cobra.Command {
	var cfgFlags configFlags
	var gh githubFlags
	var df deckFlags
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "deck --config-path FILE --job-config-path DIR [--kubeconfig FILE] [--port 8080]",
		Short: "Serve Deck: every job in a browser, live; Prow's JSON API; rerun and abort",
		Long: `deck serves the job list (/, filters in the URL, live over Server-Sent Events), Prow's JSON
endpoints (/prowjobs.js, /prowjob, /badge.svg, /config, /configured-jobs/ORG/REPO), /rerun and
/abort with Prow's authorisation (deck.rerun_auth_configs or deck.default_rerun_auth_configs, the
job's rerun_auth_config, and for presubmits the trigger plugin's trust), GitHub login
(--github-oauth-config-file with --cookie-secret), /healthz and /metrics, on --port (8080).
GitHub credentials (--github-token-path, or a GitHub App) let it look up orgs and teams.`,
		Example: `  prowl deck --config-path config.yaml --job-config-path jobs/ --kubeconfig ~/.kube/config \
    --rerun-creates-job --cookie-secret cookie --github-oauth-config-file oauth.yaml --github-token-path token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := df.auth(&gh)
			if err != nil {
				return err
			}
			agent, err := loadAgent(&cfgFlags, stderr)
			if err != nil {
				return err
			}
			if _, err := agent.Config().DeckConfig(); err != nil {
				return fmt.Errorf("%s: %w", cfgFlags.configPath, err)
			}
			o := deck.Options{Addr: fmt.Sprintf(":%d", df.port), Config: agent.Config, Auth: a, RerunCreatesJob: df.rerunCreatesJob,
				Local: df.local, ShowHidden: df.showHidden, Registerer: ctrlmetrics.Registry, Gatherer: ctrlmetrics.Registry}
			if err := df.github(&gh, &o, stderr); err != nil {
				return err
			}
			mgr, err := manager.New(manager.Options{Kubeconfig: kubeconfig, MetricsAddr: "0", HealthAddr: "0",
				Transform: deck.NewTransform(), Namespaces: []string{agent.Config().ProwJobNamespace}})
			if err != nil {
				return err
			}
			o.Cache, o.Client = mgr.GetCache(), mgr.GetClient()
			srv, err := deck.New(o)
			if err != nil {
				return err
			}
			if err := mgr.Add(srv); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "deck: http://127.0.0.1:%d/\n", df.port)
			return manager.Run(cmd.Context(), mgr, agent)
		},
	}
	cfgFlags.add(cmd)
	gh.add(cmd)
	df.add(cmd)
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster ProwJobs live in (default: $KUBECONFIG, then in-cluster, then ~/.kube/config)")
	return deployed(cmd)
}

// github sets Deck's GitHub client (org and team lookups) and the trigger plugin's trust from
// the flags; neither without credentials.
func (f *deckFlags) github(gh *githubFlags, o *deck.Options, stderr io.Writer) error {
	if !gh.hasCredentials() {
		return nil
	}
	ghc, err := github.New(gh.options())
	if err != nil {
		return err
	}
	o.GitHub = ghc
	if f.pluginConfig == "" {
		fmt.Fprintln(stderr, "deck: no --plugin-config: presubmit reruns are not checked against the trigger plugin's trust")
		return nil
	}
	pl, err := plugins.NewLoader(f.pluginConfig, func(err error) { fmt.Fprintf(stderr, "plugins: %v (keeping the last good config)\n", err) })
	if err != nil {
		return err
	}
	o.Trust = &trigger.Trigger{GitHub: ghc, Plugins: pl.Config}
	return nil
}
