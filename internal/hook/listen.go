package hook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/go-logr/logr"

	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/plugins"
)

// Timeouts of the listener: a client must send its headers within readHeaderTimeout and its
// whole request within DefaultReadTimeout (a slow client cannot hold a connection open), and a
// stop waits shutdownTimeout for requests in flight.
const (
	readHeaderTimeout  = 10 * time.Second
	DefaultReadTimeout = time.Minute
	shutdownTimeout    = 10 * time.Second
)

// DefaultWorkers is how many events Hook handles at once unless told otherwise.
const DefaultWorkers = 20

// Options are what Hook needs to serve GitHub's webhooks.
type Options struct {
	// Addr is where Hook listens (":8888"; port 0 picks a free one, which Ready receives).
	Addr string
	// HMACSecretFile holds the webhook secret(s): Hook accepts only webhooks signed with one.
	HMACSecretFile string
	// Workers bound the events handled at once (DefaultWorkers when 0).
	Workers int
	// Handle acts on each accepted event: the trigger plugin's Handle. (Hook does not build the
	// trigger itself: trigger's tests sign their webhooks with this package.)
	Handle Handler
	// Ready, when not nil, receives the address once Hook listens.
	Ready func(addr string)
	// ReadTimeout ends a request not fully read by then, answering 408 (DefaultReadTimeout
	// when 0): a client trickling its body a byte at a time frees its connection.
	ReadTimeout time.Duration
	// Spool keeps accepted deliveries until they are handled (Server.Spool); empty keeps them in
	// memory only.
	Spool string
}

// Run serves Hook on o.Addr until ctx ends, then stops the listener and finishes the events it
// accepted. It logs through the logger in ctx.
func (o Options) Run(ctx context.Context) error {
	if o.HMACSecretFile == "" {
		return errors.New("--hmac-secret-file is required: Hook only accepts webhooks signed with it")
	}
	secrets, err := LoadSecrets(o.HMACSecretFile)
	if err != nil {
		return err
	}
	log := logr.FromContextOrDiscard(ctx)
	workers := o.Workers
	if workers == 0 {
		workers = DefaultWorkers
	}
	srv := &Server{Secrets: secrets, Handle: o.Handle, Workers: workers, Spool: o.Spool}
	ctx = logr.NewContext(ctx, log.WithName("hook"))
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("hook: listen on %s: %w (choose another address)", o.Addr, err)
	}
	readTimeout := o.ReadTimeout
	if readTimeout == 0 {
		readTimeout = DefaultReadTimeout
	}
	httpSrv := &http.Server{Handler: srv, ReadHeaderTimeout: min(readHeaderTimeout, readTimeout), ReadTimeout: readTimeout}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		_ = httpSrv.Shutdown(shutdown)
	}()
	if o.Ready != nil {
		o.Ready(ln.Addr().String())
	}
	if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("hook: %w", err)
	}
	return <-done
}

// LoadPlugins loads Prow's plugins.yaml at path, reporting a bad reload to onError (the last good
// config is kept). Without a path, trigger is on for every repository with presubmits or
// postsubmits in c, trusting their org members and collaborators: what a single team wants, and
// what `prowl up` does with no plugin config.
func LoadPlugins(path string, c *config.Config, onError func(error)) (*plugins.Loader, error) {
	if path != "" {
		return plugins.NewLoader(path, onError)
	}
	return plugins.Static(TriggerEverywhere(c)), nil
}

// TriggerEverywhere is the plugin config that enables trigger for every repository with jobs.
func TriggerEverywhere(c *config.Config) *plugins.Config {
	pc := &plugins.Config{Plugins: map[string]plugins.OrgPlugins{}}
	for _, repo := range append(config.SortedKeys(c.PresubmitsStatic), config.SortedKeys(c.PostsubmitsStatic)...) {
		pc.Plugins[repo] = plugins.OrgPlugins{Plugins: []string{"trigger"}}
	}
	return pc
}
