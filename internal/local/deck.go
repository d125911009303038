package local

import (
	"context"
	"fmt"
	"net"
	"strings"

	"k8s.io/client-go/kubernetes"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/deck"
	"github.com/prowl-ci/prowl/internal/deck/auth"
	"github.com/prowl-ci/prowl/internal/spyglass"
)

// DefaultDeckAddr is where `prowl up` serves Deck and its run pages.
const DefaultDeckAddr = "127.0.0.1:8080"

// DeckOptions are `prowl up`'s Deck: the job list and, mounted in the same server, Spyglass's run
// pages and histories.
type DeckOptions struct {
	// Addr is where to listen (DefaultDeckAddr when empty).
	Addr string
	// Local lets the person at this machine rerun and abort without logging in: `prowl up` with
	// no GitHub.
	Local bool
	// Pulls, when set (`prowl up`'s local GitHub), gets a page per pull request under
	// /github/ORG/REPO/pull/N, where the job list's pull request links point.
	Pulls deck.Pulls

	ln net.Listener
}

// Listen takes Deck's address now, before anything starts, so that a busy port is reported at
// once and an address with port 0 is known (URL) before Plank writes job URLs with it.
func (o *DeckOptions) Listen() error {
	ln, err := net.Listen("tcp", o.addr())
	if err != nil {
		return fmt.Errorf("deck: listen on %s: %w (choose another address with --deck-addr)", o.addr(), err)
	}
	o.ln = ln
	return nil
}

// DeckComponent is Deck with Spyglass, served from the manager's cache; Plank's job URLs point at
// its run pages (see WithJobURLPrefix).
func DeckComponent(o *DeckOptions) Component {
	return Component{Name: "Deck", Setup: func(ctx context.Context, env Env) error {
		if o.ln == nil {
			if err := o.Listen(); err != nil {
				return err
			}
		}
		a, err := auth.New(auth.Options{Clock: env.Clock})
		if err != nil {
			return err
		}
		srv, err := deck.New(deck.Options{Listener: o.ln, Cache: env.Manager.GetCache(), Client: env.Manager.GetClient(),
			Config: env.Config.Config, Auth: a, RerunCreatesJob: true, Local: o.Local, Clock: env.Clock,
			Registerer: ctrlmetrics.Registry, Gatherer: ctrlmetrics.Registry, GitHubLink: o.githubLink()})
		if err != nil {
			return err
		}
		if o.Pulls != nil {
			srv.Handle(deck.PullPagePath, srv.PullPage(o.Pulls))
		}
		cs, err := kubernetes.NewForConfig(env.RestConfig)
		if err != nil {
			return err
		}
		sg, err := spyglass.New(spyglass.Options{Config: env.Config.Config, ProwJobs: env.Manager.GetCache(),
			PodLogs: spyglass.ClusterPodLogs{"default": cs}, Chrome: srv, Clock: env.Clock})
		if err != nil {
			return err
		}
		for _, p := range []string{"/view/", "/job-history/", "/pr-history", "/spyglass/"} {
			srv.Handle(p, sg)
		}
		if err := env.Manager.Add(srv); err != nil {
			return err
		}
		go func() {
			<-ctx.Done()
			_ = sg.Close()
		}()
		fmt.Fprintf(env.Out, "deck: %s (every job, live; each run's page under /view/)\n", o.URL())
		return nil
	}}
}

// githubLink is where pull requests link: Deck's own pages with the local GitHub, else GitHub.
func (o DeckOptions) githubLink() string {
	if o.Pulls != nil {
		return strings.TrimSuffix(deck.PullPagePath, "/")
	}
	return ""
}

func (o DeckOptions) addr() string {
	if o.Addr == "" {
		return DefaultDeckAddr
	}
	return o.Addr
}

// URL is Deck's address as a person opens it.
func (o DeckOptions) URL() string {
	a := o.addr()
	if o.ln != nil {
		a = o.ln.Addr().String()
	}
	if strings.HasPrefix(a, ":") {
		a = "127.0.0.1" + a
	}
	return "http://" + a + "/"
}

// WithJobURLPrefix is cfg with plank.job_url_prefix_config's "*" set to prefix, so that every
// decorated job's status.url (and the link Crier sends to GitHub) opens its run page on this
// machine's Deck. The derived config is made once per loaded config, not per call.
func WithJobURLPrefix(cfg func() *config.Config, prefix string) func() *config.Config {
	return derivedConfig(cfg, func(c *config.Config) {
		// Org and repo entries would name another Deck; here there is only this one.
		c.Plank.JobURLPrefixConfig = map[string]string{"*": prefix}
	})
}
