package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/github"
	"github.com/prowl-ci/prowl/internal/hook"
)

// githubFlags are Prow's GitHub client flags.
type githubFlags struct {
	endpoint, tokenPath, appID, appKeyPath string
}

func (f *githubFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.endpoint, "github-endpoint", github.DefaultEndpoint, "GitHub's REST API (GitHub Enterprise: https://HOST/api/v3/)")
	fl.StringVar(&f.tokenPath, "github-token-path", "", "file holding a GitHub personal access token")
	fl.StringVar(&f.appID, "github-app-id", "", "authenticate as this GitHub App (with --github-app-private-key-path)")
	fl.StringVar(&f.appKeyPath, "github-app-private-key-path", "", "the GitHub App's private key (PEM)")
}

// hasCredentials says whether a token or an App was given.
func (f *githubFlags) hasCredentials() bool { return f.tokenPath != "" || f.appID != "" }

func (f *githubFlags) options() github.Options {
	return github.Options{Endpoint: f.endpoint, TokenPath: f.tokenPath, AppID: f.appID, AppPrivateKeyPath: f.appKeyPath}
}

// loadWithGitHub is the start of hook and crier: credentials required (a usage error without
// them), then the config and the GitHub client.
func loadWithGitHub(component string, cfg *configFlags, gh *githubFlags, stderr io.Writer) (*config.Agent, *github.Client, error) {
	if !gh.hasCredentials() {
		return nil, nil, usageError{fmt.Errorf("%s needs GitHub credentials: --github-token-path, or --github-app-id with --github-app-private-key-path", component)}
	}
	agent, err := loadAgent(cfg, stderr)
	if err != nil {
		return nil, nil, err
	}
	ghc, err := github.New(gh.options())
	if err != nil {
		return nil, nil, err
	}
	return agent, ghc, nil
}

// hookFlags are Hook's own flags.
type hookFlags struct {
	pluginConfig, hmacSecretFile, addr, spoolDir string
	workers                                      int
}

func (f *hookFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.pluginConfig, "plugin-config", "", "Prow's plugins.yaml: `plugins` enables trigger per org or org/repo, `triggers` says whom it trusts")
	fl.StringVar(&f.hmacSecretFile, "hmac-secret-file", "", "the webhook secret: one token, or Prow's {\"*\"|org|org/repo: [{value, created_at}]} YAML")
	fl.IntVar(&f.workers, "hook-workers", hook.DefaultWorkers, "events handled at once")
	fl.StringVar(&f.spoolDir, "spool-dir", "", "a directory where each accepted webhook is kept until it is handled, so that a Hook killed before it handled one (SIGKILL, OOM) handles it when it starts again (in Kubernetes, an emptyDir: it outlives a container's restart); empty keeps them in memory only")
}

// options are Hook's listener options; the caller fills in its clients and configs.
func (f *hookFlags) options() hook.Options {
	return hook.Options{Addr: f.addr, HMACSecretFile: f.hmacSecretFile, Workers: f.workers, Spool: f.spoolDir}
}
