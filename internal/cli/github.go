package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/crier"
	"github.com/prowl-ci/prowl/internal/github"
	"github.com/prowl-ci/prowl/internal/hook"
	"github.com/prowl-ci/prowl/internal/plugins"
	"github.com/prowl-ci/prowl/internal/trigger"
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

// set says whether any credentials were given.
func (f *githubFlags) set() bool { return f.tokenPath != "" || f.appID != "" }

// loadWithGitHub is the start of hook and crier: credentials required (a usage error without
// them), then the config and the GitHub client.
func loadWithGitHub(component string, cfg *configFlags, gh *githubFlags, stderr io.Writer) (*config.Agent, *github.Client, error) {
	if !gh.set() {
		return nil, nil, usageError{fmt.Errorf("%s needs GitHub credentials: --github-token-path, or --github-app-id with --github-app-private-key-path", component)}
	}
	agent, err := loadAgent(cfg, stderr)
	if err != nil {
		return nil, nil, err
	}
	ghc, err := gh.client()
	if err != nil {
		return nil, nil, err
	}
	return agent, ghc, nil
}

func (f *githubFlags) client() (*github.Client, error) {
	return github.New(github.Options{Endpoint: f.endpoint, TokenPath: f.tokenPath, AppID: f.appID, AppPrivateKeyPath: f.appKeyPath})
}

// hookFlags are Hook's own flags.
type hookFlags struct {
	pluginConfig, hmacSecretFile string
	workers                      int
}

func (f *hookFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.pluginConfig, "plugin-config", "", "Prow's plugins.yaml: `plugins` enables trigger per org or org/repo, `triggers` says whom it trusts")
	fl.StringVar(&f.hmacSecretFile, "hmac-secret-file", "", "the webhook secret: one token, or Prow's {\"*\"|org|org/repo: [{value, created_at}]} YAML")
	fl.IntVar(&f.workers, "hook-workers", 20, "events handled at once")
}

// serveHook runs Hook with the trigger plugin on addr until ctx ends, then finishes the events
// it accepted. ready, when not nil, receives the address once it listens.
func serveHook(ctx context.Context, addr string, f *hookFlags, pl *plugins.Loader, agent *config.Agent, ghc *github.Client, kc client.Client, log logr.Logger, ready func(string)) error {
	if f.hmacSecretFile == "" {
		return errors.New("--hmac-secret-file is required: Hook only accepts webhooks signed with it")
	}
	secrets, err := hook.LoadSecrets(f.hmacSecretFile)
	if err != nil {
		return err
	}
	trig := &trigger.Trigger{GitHub: ghc, Client: kc, Config: agent.Config, Plugins: pl.Config}
	srv := &hook.Server{Secrets: secrets, Handle: trig.Handle, Workers: f.workers}
	ctx = logr.NewContext(ctx, log.WithName("hook"))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("hook: %w", err)
	}
	httpSrv := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = httpSrv.Shutdown(shutdown)
	}()
	if ready != nil {
		ready(ln.Addr().String())
	}
	if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return <-done
}

// pluginLoader loads --plugin-config, or without one enables trigger for every repository that
// has presubmits or postsubmits (what a single-team setup wants), saying so on w.
func pluginLoader(path string, agent *config.Agent, w io.Writer) (*plugins.Loader, error) {
	if path != "" {
		return plugins.NewLoader(path, func(err error) { fmt.Fprintf(w, "plugins: %v (keeping the last good config)\n", err) })
	}
	c := agent.Config()
	pc := &plugins.Config{Plugins: map[string]plugins.OrgPlugins{}}
	for _, repo := range append(config.SortedKeys(c.PresubmitsStatic), config.SortedKeys(c.PostsubmitsStatic)...) {
		pc.Plugins[repo] = plugins.OrgPlugins{Plugins: []string{"trigger"}}
	}
	fmt.Fprintf(w, "no --plugin-config: trigger is enabled for the %d repositories with jobs, trusting their org members and collaborators\n", len(pc.Plugins))
	return plugins.Static(pc), nil
}

// setupCrier adds the GitHub reporter to mgr.
func setupCrier(mgr ctrl.Manager, agent *config.Agent, ghc *github.Client, workers int) error {
	r := &crier.Reporter{GitHub: ghc, Client: mgr.GetClient(), Config: agent.Config}
	return r.Setup(mgr, workers)
}

// startGitHubSide is prowl up's GitHub part: Crier in mgr, and with a webhook secret Hook on addr,
// started before it returns. It returns the names of what it started.
func startGitHubSide(ctx context.Context, mgr ctrl.Manager, restCfg *rest.Config, agent *config.Agent, gh *githubFlags, hf *hookFlags, addr string, stdout, stderr io.Writer) ([]string, error) {
	ghc, err := gh.client()
	if err != nil {
		return nil, err
	}
	if err := setupCrier(mgr, agent, ghc, 10); err != nil {
		return nil, err
	}
	if hf.hmacSecretFile == "" {
		fmt.Fprintln(stdout, "no --hmac-secret-file: Hook is off (Crier reports to GitHub)")
		return []string{"Crier"}, nil
	}
	pl, err := pluginLoader(hf.pluginConfig, agent, stdout)
	if err != nil {
		return nil, err
	}
	kc, err := client.New(restCfg, client.Options{Scheme: mgr.GetScheme()})
	if err != nil {
		return nil, err
	}
	hookErr := make(chan error, 1)
	listening := make(chan string, 1)
	go func() {
		hookErr <- serveHook(ctx, addr, hf, pl, agent, ghc, kc, ctrl.Log, func(addr string) { listening <- addr })
	}()
	select {
	case err := <-hookErr:
		return nil, err
	case addr := <-listening:
		fmt.Fprintf(stdout, "hook: http://%s/hook (webhooks signed with --hmac-secret-file)\n", addr)
	}
	go func() {
		if err := <-hookErr; err != nil {
			fmt.Fprintf(stderr, "hook stopped: %v\n", err)
		}
	}()
	return []string{"Crier", "Hook"}, nil
}
