// Package deck is Prowl's web UI and Prow's JSON API: the job list, live over Server-Sent Events,
// Prow's endpoints (/prowjobs.js, /prowjob, /badge.svg, /config, /configured-jobs), and rerun and
// abort with Prow's authorisation. It reads ProwJobs only from a controller-runtime cache, kept in
// an index sorted by start time from informer events, so a request costs the page it shows.
package deck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/deck/auth"
)

// GitHub is what Deck asks of GitHub to apply rerun_auth_config: org and team membership.
type GitHub interface {
	IsMember(ctx context.Context, org, user string) (bool, error)
	TeamMemberBySlug(ctx context.Context, org, slug, user string) (bool, error)
	TeamMemberByID(ctx context.Context, org string, teamID int64, user string) (bool, error)
}

// Trust says whether the trigger plugin trusts user to rerun a presubmit of a pull request
// (trigger.Trigger's TrustedRerun).
type Trust interface {
	TrustedRerun(ctx context.Context, org, repo string, number int, user string) (bool, error)
}

// Options configure a Server.
type Options struct {
	// Addr is where to listen (":8080"); Listener, when set, is used instead.
	Addr     string
	Listener net.Listener
	// Cache is where ProwJobs are read from (an informer cache holding prowjob_namespace);
	// Client writes reruns and aborts.
	Cache  cache.Cache
	Client client.Client
	// Config is the config in force.
	Config func() *config.Config
	// GitHub looks up orgs and teams for rerun_auth_config; nil allows only github_users and
	// allow_anyone. Trust is the trigger plugin's rule for presubmits; nil skips it.
	GitHub GitHub
	Trust  Trust
	// Auth is the login and CSRF protection; one with a random secret and no login when nil.
	Auth *auth.Auth
	// ShowHidden shows jobs marked hidden too (Prow's --show-hidden); they are left out otherwise.
	ShowHidden bool
	// RerunCreatesJob lets POST /rerun create the job (Prow's --rerun-creates-job).
	RerunCreatesJob bool
	// Local lets a request from this machine rerun and abort without logging in: what `prowl up`
	// without GitHub wants.
	Local bool
	// GitHubLink is where pull requests and authors link to (https://github.com when empty;
	// github.link_url in the config wins).
	GitHubLink string
	Clock      clock.WithTicker
	// Registerer takes Deck's metrics; prometheus.DefaultRegisterer when nil. /metrics serves
	// Gatherer (prometheus.DefaultGatherer when nil).
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
}

// Server is Deck.
type Server struct {
	o       Options
	mux     *http.ServeMux
	handler http.Handler
	index   *index
	auth    *auth.Auth
	metrics *metrics
	synced  chan struct{}
	deck    atomic.Pointer[parsedDeck]
}

// New makes a Server; Run serves it.
func New(o Options) (*Server, error) {
	if o.Cache == nil || o.Client == nil || o.Config == nil {
		return nil, errors.New("deck: Cache, Client and Config are required")
	}
	if o.Addr == "" {
		o.Addr = ":8080"
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.DefaultRegisterer
	}
	if o.Gatherer == nil {
		o.Gatherer = prometheus.DefaultGatherer
	}
	if o.Auth == nil {
		a, err := auth.New(auth.Options{Clock: o.Clock})
		if err != nil {
			return nil, err
		}
		o.Auth = a
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, mux: http.NewServeMux(), index: newIndex(), auth: o.Auth, metrics: m, synced: make(chan struct{})}
	s.routes()
	s.handler = s.metrics.instrument(o.Clock, securityHeaders(s.auth.Middleware(s.mux)))
	return s, nil
}

// Handle mounts h at pattern (net/http ServeMux patterns), behind Deck's headers and CSRF check:
// the integrator mounts Spyglass this way at /view/, /job-history/ and /pr-history.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, auth.RequireCSRF(h)) }

// ServeHTTP serves Deck.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// NeedLeaderElection is false: every replica serves (so a manager runs it without a Lease).
func (s *Server) NeedLeaderElection() bool { return false }

// Start is Run, so that a controller-runtime manager can run the Server.
func (s *Server) Start(ctx context.Context) error { return s.Run(ctx) }

// Run fills the index from the ProwJob informer, waits for the cache to sync, then serves until
// ctx ends.
func (s *Server) Run(ctx context.Context) error {
	log := logr.FromContextOrDiscard(ctx).WithName("deck")
	inf, err := s.o.Cache.GetInformer(ctx, &prowv1.ProwJob{})
	if err != nil {
		return fmt.Errorf("deck: ProwJob informer: %w", err)
	}
	s.index.beginFill()
	reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.observe(obj) },
		UpdateFunc: func(_, obj any) { s.observe(obj) },
		DeleteFunc: func(obj any) { s.forget(obj) },
	})
	if err != nil {
		return fmt.Errorf("deck: watch ProwJobs: %w", err)
	}
	defer func() { _ = inf.RemoveEventHandler(reg) }()
	if !s.o.Cache.WaitForCacheSync(ctx) {
		return fmt.Errorf("deck: the ProwJob cache did not sync: %w", ctx.Err())
	}
	if err := waitSynced(ctx, reg); err != nil {
		return err
	}
	s.index.settle()
	close(s.synced)
	ln := s.o.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", s.o.Addr); err != nil {
			return fmt.Errorf("deck: %w", err)
		}
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("serving", "addr", ln.Addr().String(), "prowjobs", s.index.len())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("deck: %w", err)
	}
	return nil
}

// waitSynced waits until the handler has seen the informer's initial list.
func waitSynced(ctx context.Context, reg toolscache.ResourceEventHandlerRegistration) error {
	ok := toolscache.WaitForCacheSync(ctx.Done(), reg.HasSynced)
	if !ok {
		return fmt.Errorf("deck: the ProwJob index did not fill: %w", ctx.Err())
	}
	return nil
}

// Len is how many ProwJobs Deck lists (hidden ones only with ShowHidden).
func (s *Server) Len() int { return s.index.len() }

// Synced is closed once the index holds the whole cache.
func (s *Server) Synced() <-chan struct{} { return s.synced }

func (s *Server) observe(obj any) {
	if pj, ok := obj.(*prowv1.ProwJob); ok && (s.o.ShowHidden || !pj.Spec.Hidden) {
		s.index.upsert(pj)
	}
}

func (s *Server) forget(obj any) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if pj, ok := obj.(*prowv1.ProwJob); ok {
		s.index.remove(pj.Name)
	}
}

// securityHeaders sets the Content-Security-Policy (same-origin scripts, styles and connections
// only; no inline script, no framing) and its companions on every answer.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}
