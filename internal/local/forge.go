package local

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/prowl-ci/prowl/examples"
	"github.com/prowl-ci/prowl/internal/deck"
	"github.com/prowl-ci/prowl/internal/forge"
	"github.com/prowl-ci/prowl/internal/github"
	"github.com/prowl-ci/prowl/internal/hook"
)

// Forge is `prowl up`'s local GitHub (internal/forge) when it has no GitHub credentials: it
// serves the repositories and the REST API on one address, and Hook, Trigger and Crier talk to it.
type Forge struct {
	// Addr is where it listens (--git-addr).
	Addr string
	// DataDir keeps its state, members.yaml and the repositories.
	DataDir string

	ln  net.Listener
	url string
	srv *forge.Server
}

// Start listens and loads the state, so that its URL and token exist before the components that
// use them are made; the Component serves it.
func (l *Forge) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", l.Addr)
	if err != nil {
		return fmt.Errorf("local GitHub: listen on %s: %w (choose another address with --git-addr)", l.Addr, err)
	}
	l.ln, l.url = ln, "http://"+ln.Addr().String()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	l.srv, err = forge.Open(ctx, forge.Options{DataDir: l.DataDir, URL: l.url, Self: self,
		SeedOrg: filepath.Dir(examples.RepoPath), SeedUser: forge.DefaultUser()})
	if err != nil {
		_ = ln.Close()
		return err
	}
	return nil
}

// URL is where the repositories are served (URL/ORG/REPO.git) and the API (URL/api/v3/).
func (l *Forge) URL() string { return l.url }

// GitHubOptions are GitHubComponents' options for Hook, Trigger and Crier on the local GitHub:
// its endpoint and token, and Hook with the secret it signs webhooks with.
func (l *Forge) GitHubOptions(ho hook.Options, pluginConfig string) GitHubOptions {
	ho.HMACSecretFile = forge.HMACPath(l.DataDir)
	return GitHubOptions{Client: github.Options{Endpoint: l.url + forge.APIPath, TokenPath: forge.TokenPath(l.DataDir)},
		Hook: ho, PluginConfig: pluginConfig, OnHook: l.srv.SetHook}
}

// Component serves the local GitHub in the manager, and records where, for `prowl pr`.
func (l *Forge) Component() Component {
	return Component{Name: "local GitHub", Setup: func(ctx context.Context, env Env) error {
		h, err := l.srv.Handler(ctx)
		if err != nil {
			return err
		}
		done, err := l.srv.Serving()
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "local GitHub (no GitHub credentials given): %s%s for Hook, Trigger and Crier; repositories at %s/ORG/REPO.git; "+
			"who is trusted: %s; try `prowl pr list --data-dir %s`\n", l.url, forge.APIPath, l.url, forge.MembersPath(l.DataDir), l.DataDir)
		srv := &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout}
		return env.Manager.Add(runnable(func(ctx context.Context) error {
			defer done()
			go func() {
				<-ctx.Done()
				_ = srv.Close()
			}()
			if err := srv.Serve(l.ln); err != nil && err != http.ErrServerClosed {
				return fmt.Errorf("local GitHub: %w", err)
			}
			return nil
		}))
	}}
}

// prepareExampleRepo makes the example repository on the local GitHub and readies it for pushes.
func (l *Forge) prepareExampleRepo(ctx context.Context) error {
	if _, err := examples.InitRepo(forge.GitRoot(l.DataDir)); err != nil {
		return err
	}
	return l.srv.PrepareRepos(ctx)
}

// PullView is a pull request as Deck's page shows it.
func (l *Forge) PullView(_ context.Context, org, repo string, n int) (deck.PullView, error) {
	p, statuses, ok := l.srv.View(org+"/"+repo, n)
	if !ok {
		return deck.PullView{}, deck.ErrNoPull
	}
	v := deck.PullView{Repo: org + "/" + repo, Title: p.Title, State: p.State, Author: p.Author, Number: p.Number, Head: p.Head,
		HeadSHA: p.HeadSHA, Base: p.Base, Labels: p.Labels, Combined: forge.Combine(statuses)}
	for _, st := range statuses {
		v.Statuses = append(v.Statuses, deck.PullStatus{State: st.State, Context: st.Context, Description: st.Description, TargetURL: st.TargetURL})
	}
	for _, c := range p.Comments {
		v.Comments = append(v.Comments, deck.PullComment{User: c.User, Body: c.Body})
	}
	return v, nil
}
