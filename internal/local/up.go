package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/prowl-ci/prowl/examples"
	"github.com/prowl-ci/prowl/internal/artifacts"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/controlplane"
	"github.com/prowl-ci/prowl/internal/cpbuild"
	"github.com/prowl-ci/prowl/internal/events"
	"github.com/prowl-ci/prowl/internal/horologium"
	"github.com/prowl-ci/prowl/internal/jobs"
	"github.com/prowl-ci/prowl/internal/manager"
	"github.com/prowl-ci/prowl/internal/plank"
	"github.com/prowl-ci/prowl/internal/sinker"
)

// DefaultPlankWorkers is how many ProwJobs `prowl up`'s Plank reconciles at once.
const DefaultPlankWorkers = 16

// UpOptions are `prowl up`'s: the whole system in one process.
type UpOptions struct {
	// Config names Prow's config files; with neither path set, the embedded examples run.
	Config config.Options
	// Kubeconfig is a cluster to use; empty starts a local control plane and node.
	Kubeconfig string
	// DataDir keeps the control plane's data, the kubeconfig, the examples and their artifacts.
	DataDir string
	// GitAddr is where the example repository is served (the examples only).
	GitAddr string
	// LocalGitHub, when set (and started), serves the repositories instead, with the local GitHub.
	LocalGitHub *Forge
	// PlankWorkers is Plank's concurrency (DefaultPlankWorkers when 0).
	PlankWorkers int
	// JobURLPrefix, when set, replaces plank.job_url_prefix_config, so that status.url opens
	// the run on this machine's Deck (DeckOptions.URL() + "view/").
	JobURLPrefix string
	// Components run beside Horologium and Plank, in this order: GitHubComponents gives Crier and
	// Hook; Deck, Spyglass and Sinker are appended the same way.
	Components []Component
	// Node says how the local node runs containers.
	Node NodeOptions
	// Periodics are the periodics Horologium starts: nil (all of a config with up to
	// MaxPeriodicsByDefault, else none), "all", "none", or names.
	Periodics []string
	// BuildClusters are the aliases whose jobs the local node runs: nil or "all" (every one),
	// "default", or names.
	BuildClusters []string
	// Clock is the time of every component (the real clock when nil).
	Clock clock.WithTicker
	// Stdout hears what a person needs: what started, where, and how to look; Stderr hears the
	// config's warnings and failed reloads.
	Stdout, Stderr io.Writer
}

// Run runs everything until ctx ends. It logs through the logger in ctx.
func (o UpOptions) Run(ctx context.Context) error {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return fmt.Errorf("make the data dir: %w", err)
	}
	if err := o.prepareConfig(ctx); err != nil {
		return err
	}
	agent, err := LoadAgent(o.Config, o.Stderr)
	if err != nil {
		return err
	}
	c := agent.Config()
	restCfg, stop, err := o.cluster(ctx, c)
	if err != nil {
		return err
	}
	defer stop()
	env, err := o.setup(ctx, restCfg, agent)
	if err != nil {
		return err
	}
	names := []string{"Horologium", "Plank", "Sinker"}
	for _, comp := range o.Components {
		if err := comp.Setup(ctx, env); err != nil {
			return fmt.Errorf("set up %s: %w", comp.Name, err)
		}
		names = append(names, comp.Name)
	}
	fmt.Fprintf(o.Stdout, "running %s on %d periodics, %d presubmits' repos, %d postsubmits' repos; Ctrl-C stops\n",
		strings.Join(names, ", "), len(c.Periodics), len(c.PresubmitsStatic), len(c.PostsubmitsStatic))
	if err := manager.Run(ctx, env.Manager, agent); err != nil && !errors.Is(err, ctx.Err()) {
		return err
	}
	return nil
}

// prepareConfig writes the embedded examples when no config is given, serves the example
// repository when the config clones it, and replaces the examples' placeholders.
func (o *UpOptions) prepareConfig(ctx context.Context) error {
	embedded := o.Config.ConfigPath == "" && o.Config.JobConfigPath == ""
	gitURL := GitURLPlaceholder
	if embedded || usesPlaceholder(o.Config, GitURLPlaceholder) {
		root := filepath.Join(o.DataDir, "git")
		var err error
		var how string
		if o.LocalGitHub != nil {
			gitURL, err = o.LocalGitHub.URL(), o.LocalGitHub.prepareExampleRepo(ctx)
			how = "clone it and push: a push to main starts post-hello-test, `prowl pr open` the presubmits"
		} else {
			gitURL, err = serveExampleRepo(ctx, root, o.GitAddr)
			how = "clone it; push to " + filepath.Join(root, examples.RepoPath)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(o.Stdout, "example repository: %s/%s (%s)\n", gitURL, examples.RepoPath, how)
	}
	if embedded {
		dir := filepath.Join(o.DataDir, "examples")
		if err := writeExamples(dir, placeholders(o.DataDir, gitURL)); err != nil {
			return fmt.Errorf("write the examples: %w", err)
		}
		o.Config.ConfigPath, o.Config.JobConfigPath = filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs")
		fmt.Fprintf(o.Stdout, "config: the embedded examples, written to %s\n", dir)
	}
	// Files given in place (the repository's examples/) get their placeholders replaced on every load.
	o.Config.Placeholders = map[string]string{DataDirPlaceholder: o.DataDir, GitURLPlaceholder: gitURL}
	return nil
}

// LoadAgent loads the config for a long-running component: warnings printed on w, reload errors
// reported there, the first load's errors returned.
func LoadAgent(o config.Options, w io.Writer) (*config.Agent, error) {
	agent, warnings, err := config.NewAgent(o)
	for _, p := range warnings {
		fmt.Fprintf(w, "warning: %v\n", p)
	}
	if err != nil {
		return nil, fmt.Errorf("load config:\n%w", err)
	}
	agent.OnError = func(err error) { fmt.Fprintf(w, "config: %v (keeping the last good config)\n", err) }
	return agent, nil
}

// cluster is the API server to use: the one given, or a local control plane started (and built,
// once per machine) here, which stop stops.
func (o UpOptions) cluster(ctx context.Context, c *config.Config) (*rest.Config, func(), error) {
	mo := manager.Options{Kubeconfig: o.Kubeconfig}
	if o.Kubeconfig != "" {
		cfg, err := mo.RestConfig()
		return cfg, func() {}, err
	}
	assets, err := cpbuild.Ensure(ctx, o.Stdout) // once per machine: builds the binaries
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintln(o.Stdout, "starting the local control plane (kube-apiserver and etcd on loopback)...")
	cp, err := controlplane.Start(ctx, controlplane.Options{Assets: assets, DataDir: o.DataDir, Namespaces: []string{c.ProwJobNamespace, c.PodNamespace}})
	if err != nil {
		return nil, nil, err
	}
	stop := func() {
		fmt.Fprintln(o.Stdout, "stopping the local control plane")
		_ = cp.Stop()
	}
	fmt.Fprintf(o.Stdout, "kubeconfig: %s\n  kubectl --kubeconfig %s get prowjobs\n", cp.Kubeconfig, cp.Kubeconfig)
	mo.Kubeconfig = cp.Kubeconfig
	cfg, err := mo.RestConfig()
	if err != nil {
		stop()
		return nil, nil, err
	}
	return cfg, stop, nil
}

// setup makes the manager with Horologium, Plank, Sinker, artifact completion and, on a local
// control plane, the local node.
func (o UpOptions) setup(ctx context.Context, restCfg *rest.Config, agent *config.Agent) (Env, error) {
	c := agent.Config()
	// One process, no replicas: no Lease, and no metrics or health servers to collide with.
	mgr, err := manager.NewForConfig(restCfg, manager.Options{Namespaces: []string{c.ProwJobNamespace, c.PodNamespace}, MetricsAddr: "0", HealthAddr: "0"})
	if err != nil {
		return Env{}, err
	}
	env := Env{Manager: mgr, RestConfig: restCfg, Config: agent, DataDir: o.DataDir, Clock: o.Clock, Out: o.Stdout}
	h, err := horologium.Setup(ctx, mgr, agent, o.Clock)
	if err != nil {
		return Env{}, err
	}
	selected, err := selectPeriodics(o.Periodics, c, o.Stdout)
	if err != nil {
		return Env{}, err
	}
	h.Config = selected.filter(agent.Config)
	ids, err := jobs.NewBuildIDs(-1)
	if err != nil {
		return Env{}, err
	}
	workers := o.PlankWorkers
	if workers == 0 {
		workers = DefaultPlankWorkers
	}
	plankConfig := agent.Config
	if o.JobURLPrefix != "" {
		plankConfig = WithJobURLPrefix(agent.Config, o.JobURLPrefix)
	}
	var local []string
	if o.Kubeconfig == "" {
		local = localClusters(o.BuildClusters, c, o.Stdout)
	}
	if _, err := plank.Setup(ctx, mgr, plank.Options{Config: plankConfig, Clock: o.Clock, BuildIDs: ids, Workers: workers, LocalClusters: local}); err != nil {
		return Env{}, err
	}
	if err := setupCleanup(mgr, agent, o.Clock, ids); err != nil {
		return Env{}, err
	}
	if o.Kubeconfig != "" {
		return env, nil
	}
	if err := AddNode(mgr, c, o.DataDir, o.Node, o.Stdout); err != nil {
		return Env{}, err
	}
	fmt.Fprintf(o.Stdout, "local node %s runs the Pods of %s on this machine; artifacts go where the decoration config says (the examples: file://%s/artifacts)\n", NodeName, c.PodNamespace, o.DataDir)
	return env, nil
}

// setupCleanup adds Sinker (old ProwJobs and Pods deleted by Prow's rules) and the artifact
// completer (prowjob.json, podinfo.json, and finished.json where a run ended without its sidecar).
func setupCleanup(mgr ctrl.Manager, agent *config.Agent, clk clock.Clock, ids *jobs.BuildIDs) error {
	if _, err := sinker.Setup(mgr, sinker.Options{Config: agent.Config, Clock: clk, Recorder: events.New(mgr, "sinker", clk)}); err != nil {
		return err
	}
	_, err := artifacts.Setup(mgr, artifacts.Options{Config: agent.Config, Clock: clk, BuildIDs: ids, Workers: 4,
		Recorder: events.New(mgr, "artifacts", clk)})
	return err
}
