package local

import (
	"context"
	"fmt"
	"net"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/prowl-ci/prowl/internal/crier"
	"github.com/prowl-ci/prowl/internal/events"
	"github.com/prowl-ci/prowl/internal/github"
	"github.com/prowl-ci/prowl/internal/hook"
	"github.com/prowl-ci/prowl/internal/trigger"
)

// DefaultCrierWorkers is how many reports Crier sends at once.
const DefaultCrierWorkers = 10

// GitHubOptions are `prowl up`'s GitHub side: Crier reports to GitHub, and with a webhook secret
// Hook serves webhooks whose trigger plugin starts presubmits and postsubmits.
type GitHubOptions struct {
	// Client says how to reach GitHub and with which credentials.
	Client github.Options
	// CrierWorkers bound the reports sent at once (DefaultCrierWorkers when 0).
	CrierWorkers int
	// Hook is Hook's listener; with no HMACSecretFile, Hook is off. Its Handle (the trigger
	// plugin) is filled in here.
	Hook hook.Options
	// PluginConfig is Prow's plugins.yaml; empty enables trigger for every repository with jobs.
	PluginConfig string
	// OnHook, when set, hears Hook's URL once it listens (the local GitHub sends it webhooks).
	OnHook func(url string)
}

// GitHubComponents are Crier and, with a webhook secret, Hook, sharing one GitHub client.
func GitHubComponents(o GitHubOptions) ([]Component, error) {
	ghc, err := github.New(o.Client)
	if err != nil {
		return nil, err
	}
	comps := []Component{{Name: "Crier", Setup: func(ctx context.Context, env Env) error {
		r := &crier.Reporter{GitHub: ghc, Client: env.Manager.GetClient(), Config: env.Config.Config}
		workers := o.CrierWorkers
		if workers == 0 {
			workers = DefaultCrierWorkers
		}
		return r.Setup(env.Manager, workers)
	}}}
	if o.Hook.HMACSecretFile == "" {
		comps[0].Setup = withNote(comps[0].Setup, "no --hmac-secret-file: Hook is off (Crier reports to GitHub)")
		return comps, nil
	}
	return append(comps, Component{Name: "Hook", Setup: func(ctx context.Context, env Env) error {
		return setupHook(ctx, env, o, ghc)
	}}), nil
}

// setupHook adds Hook to the manager as a server every replica runs.
func setupHook(ctx context.Context, env Env, o GitHubOptions, ghc *github.Client) error {
	pl, err := hook.LoadPlugins(o.PluginConfig, env.Config.Config(), func(err error) {
		fmt.Fprintf(env.Out, "plugins: %v (keeping the last good config)\n", err)
	})
	if err != nil {
		return err
	}
	if o.PluginConfig == "" {
		fmt.Fprintf(env.Out, "no --plugin-config: trigger is enabled for the %d repositories with jobs, trusting their org members and collaborators\n", len(pl.Config().Plugins))
	}
	// A direct client, as the standalone Hook has: what Trigger reads must not lag the cache.
	kc, err := client.New(env.RestConfig, client.Options{Scheme: env.Manager.GetScheme()})
	if err != nil {
		return err
	}
	trig := &trigger.Trigger{GitHub: ghc, Client: kc, Config: env.Config.Config, Plugins: pl.Config, Clock: env.Clock,
		Recorder: events.New(env.Manager, "trigger", env.Clock)}
	ho := o.Hook
	ho.Handle = trig.Handle
	ho.Ready = func(addr string) {
		fmt.Fprintf(env.Out, "hook: http://%s/hook (webhooks signed with %s)\n", addr, o.Hook.HMACSecretFile)
		if o.OnHook != nil {
			o.OnHook("http://" + dialable(addr) + "/hook")
		}
	}
	return env.Manager.Add(runnable(ho.Run))
}

// withNote is setup that first prints note.
func withNote(setup func(context.Context, Env) error, note string) func(context.Context, Env) error {
	return func(ctx context.Context, env Env) error {
		fmt.Fprintln(env.Out, note)
		return setup(ctx, env)
	}
}

// dialable turns a listening address into one to dial: an unspecified host ([::]:8888) becomes
// loopback.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
