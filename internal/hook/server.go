// Package hook is Prow's Hook: it receives GitHub's webhooks over HTTP, checks each one's
// signature, answers at once, and hands the events to the plugins (trigger) in the background,
// with bounded concurrency and each delivery handled once.
package hook

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/prowl-ci/prowl/internal/backoff"
)

// eventName is what GitHub's event names look like (pull_request, issue_comment, ...).
var eventName = regexp.MustCompile(`^[a-z_]{1,64}$`)

// deliveryID is what a delivery ID may be: GitHub's are GUIDs; anything printable up to 128
// characters is taken (redelivery tools make their own), nothing that would garble a log line.
var deliveryID = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`)

// MaxBody is the largest payload accepted; GitHub caps payloads at 25 MB.
const MaxBody = 25 << 20

// Handler acts on one event.
type Handler func(ctx context.Context, eventType, delivery string, payload []byte) error

// Server is Hook's HTTP side. It logs through the logger of Run's context, and hands each
// handler a context derived from Run's: the same logger, with the event and delivery as values.
type Server struct {
	Secrets *Secrets
	Handle  Handler
	// Workers bound the events handled at once (default 20); Queue is how many accepted events may
	// wait (default 10000): when it is full Hook answers 503 and GitHub's delivery shows the
	// failure, so nothing accepted is dropped.
	Workers, Queue int
	// Registry receives the metrics (default: a registry of its own, served at /metrics).
	Registry *prometheus.Registry
	// DrainTimeout is how long the events accepted before a stop may still run once Run's
	// context ends (default 25 s, inside Kubernetes' default 30 s grace period); then their
	// contexts are cancelled.
	DrainTimeout time.Duration
	// Clock times each event's handling, its retries and the drain; the real clock when nil.
	Clock clock.Clock
	// Retry is how a failed handling is tried again (DefaultRetry() when Steps is 0): an event
	// whose plugins failed (GitHub or the API server away longer than their own retries) is
	// handled again after a backoff, and after the last attempt its delivery ID is forgotten,
	// so that GitHub's redelivery is handled rather than refused as a duplicate.
	Retry wait.Backoff
	// Spool, when set, is a directory where each accepted delivery is kept from before Hook
	// answers 200 until it is handled or given up on; Run handles first what a Hook killed before
	// it finished left there. Empty keeps accepted deliveries in memory only: a Hook killed with
	// some not handled loses them, since GitHub does not send a delivery again once it got a 200.
	Spool string

	once     sync.Once
	spool    *spool
	queue    chan event
	seen     *seenSet
	webhooks *prometheus.CounterVec
	handled  *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// enqueue is held for reading while an event is put on the queue and for writing when the
	// drain starts: once closing is set under it, the queue only shrinks, so the drain sees every
	// accepted event without waiting for stragglers.
	enqueue sync.RWMutex
	closing bool
}

type event struct {
	eventType, delivery string
	payload             []byte
	accepted            time.Time
}

func (s *Server) init() {
	s.once.Do(func() {
		if s.Workers <= 0 {
			s.Workers = 20
		}
		if s.Queue <= 0 {
			s.Queue = 10000
		}
		if s.Registry == nil {
			s.Registry = prometheus.NewRegistry()
		}
		if s.Clock == nil {
			s.Clock = clock.RealClock{}
		}
		if s.DrainTimeout <= 0 {
			s.DrainTimeout = 25 * time.Second
		}
		if s.Retry.Steps == 0 {
			s.Retry = DefaultRetry()
		}
		s.queue = make(chan event, s.Queue)
		s.seen = newSeenSet(100000)
		if s.Spool != "" {
			s.spool = &spool{dir: s.Spool}
		}
		s.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "prowl_hook_webhooks_total",
			Help: "Webhooks received, by event type and answer (accepted, duplicate, bad_signature, bad_request, too_large, timeout, queue_full, shutting_down, spool_error)."}, []string{"event_type", "outcome"})
		s.handled = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "prowl_hook_events_handled_total",
			Help: "Accepted events handled, by event type and outcome (ok; retry: an attempt failed and is tried again; error: every attempt failed, the delivery may be redelivered)."}, []string{"event_type", "outcome"})
		s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "prowl_hook_event_seconds",
			Help: "From accepting an event to the end of its handling.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"event_type"})
		s.Registry.MustRegister(s.webhooks, s.handled, s.duration)
	})
}

// Run handles accepted events until ctx ends, then finishes those already accepted, cancelling
// their contexts once DrainTimeout has passed.
func (s *Server) Run(ctx context.Context) error {
	s.init()
	// Handlers keep ctx's values but not its end: what was accepted is finished after a stop.
	handlers, stopHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHandlers()
	var wg sync.WaitGroup
	for range s.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case ev := <-s.queue:
					s.handle(handlers, ev)
				}
			}
		}()
	}
	if err := s.replay(ctx); err != nil {
		stopHandlers()
		wg.Wait()
		return err
	}
	<-ctx.Done()
	drain := s.Clock.NewTimer(s.DrainTimeout)
	defer drain.Stop()
	go func() {
		select {
		case <-drain.C():
			ctrl.LoggerFrom(ctx).Info("drain timeout passed; cancelling the events still being handled", "drainTimeout", s.DrainTimeout)
			stopHandlers()
		case <-handlers.Done():
		}
	}()
	wg.Wait()
	// Drain what was accepted before the stop: nothing accepted is lost. New events are refused
	// from here on (503), and the drain ends once every accepted one is handled.
	s.enqueue.Lock()
	s.closing = true
	s.enqueue.Unlock()
	for {
		select {
		case ev := <-s.queue:
			s.handle(handlers, ev)
		default:
			return nil
		}
	}
}

// replay queues the deliveries the spool kept from a Hook that stopped before it handled them.
func (s *Server) replay(ctx context.Context) error {
	if s.spool == nil {
		return nil
	}
	kept, err := s.spool.load()
	if err != nil {
		return err
	}
	if len(kept) > 0 {
		ctrl.LoggerFrom(ctx).Info("handling the deliveries accepted before a restart and not handled", "deliveries", len(kept))
	}
	for _, d := range kept {
		if s.seen.add(d.Delivery) != unseen {
			continue // redelivered meanwhile, and accepted again
		}
		select {
		case s.queue <- event{eventType: d.Event, delivery: d.Delivery, payload: d.Payload, accepted: s.Clock.Now()}:
		case <-ctx.Done():
			return nil // still in the spool for the next start
		}
	}
	return nil
}

// DefaultRetry tries a failed handling six times in all, waiting 2, 4, 8, 16 and 30 seconds
// between attempts: about a minute on top of the GitHub client's own retries. It is a function,
// not a shared variable that any caller could change for every Server.
func DefaultRetry() wait.Backoff {
	return wait.Backoff{Duration: 2 * time.Second, Factor: 2, Steps: 6, Cap: 30 * time.Second}
}

// handle runs the handler on one event until it succeeds, retrying with s.Retry on the clock.
// Each attempt's context is derived from ctx, carries the event's logger and ends after five
// minutes at most. The delivery counts as done only once an attempt succeeded: when every
// attempt failed (or ctx ended first) its ID is forgotten, so a redelivery is handled.
func (s *Server) handle(ctx context.Context, ev event) {
	log := ctrl.LoggerFrom(ctx).WithValues("event", ev.eventType, "delivery", ev.delivery)
	ctx = ctrl.LoggerInto(ctx, log)
	attempts := 0
	var last error
	err := backoff.Retry(ctx, s.Clock, s.Retry, func(ctx context.Context) (bool, error) {
		attempts++
		last = s.attempt(ctx, ev)
		if last == nil {
			return true, nil
		}
		if attempts < s.Retry.Steps {
			s.handled.WithLabelValues(ev.eventType, "retry").Inc()
			log.Info("handling event failed; trying again after a backoff", "attempt", attempts, "error", last.Error())
		}
		return false, nil
	})
	outcome := "ok"
	if err != nil {
		outcome = "error"
		s.seen.remove(ev.delivery)
		if last == nil {
			last = err
		}
		log.Error(last, "handling event failed; a redelivery of it will be handled", "attempts", attempts)
	} else {
		s.seen.done(ev.delivery)
	}
	if s.spool != nil && (err == nil || ctx.Err() == nil) {
		s.spool.drop(ctx, ev.delivery) // handled, or given up on: a redelivery is handled
	}
	s.handled.WithLabelValues(ev.eventType, outcome).Inc()
	s.duration.WithLabelValues(ev.eventType).Observe(s.Clock.Since(ev.accepted).Seconds())
}

// attempt runs the handler once, for five minutes at most.
func (s *Server) attempt(ctx context.Context, ev event) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	return s.Handle(ctx, ev.eventType, ev.delivery, ev.payload)
}

// ServeHTTP serves POST /hook, GET /healthz and GET /metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.init()
	switch r.URL.Path {
	case "/hook":
		s.serveHook(w, r)
	case "/healthz":
		_, _ = io.WriteString(w, "OK")
	case "/metrics":
		promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveHook(w http.ResponseWriter, r *http.Request) {
	eventType := r.Header.Get("X-GitHub-Event")
	answer := func(code int, outcome, msg string) {
		label := eventType
		if !eventName.MatchString(label) || outcome == "bad_request" {
			label = "unknown" // anything a sender invents stays out of the metric's labels
		}
		s.webhooks.WithLabelValues(label, outcome).Inc()
		if code != http.StatusOK {
			http.Error(w, msg, code)
			return
		}
		_, _ = io.WriteString(w, msg+"\n")
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		answer(http.StatusMethodNotAllowed, "bad_request", "405 Method Not Allowed: send webhooks with POST")
		return
	}
	delivery := r.Header.Get("X-GitHub-Delivery")
	if !eventName.MatchString(eventType) || !deliveryID.MatchString(delivery) {
		answer(http.StatusBadRequest, "bad_request", "400 Bad Request: X-GitHub-Delivery must be an ID of up to 128 printable ASCII characters, and X-GitHub-Event an event name")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		answer(http.StatusBadRequest, "bad_request", "400 Bad Request: the webhook's content type must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			answer(http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("413 Request Entity Too Large: payloads are at most %d bytes", MaxBody))
			return
		}
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			answer(http.StatusRequestTimeout, "timeout", "408 Request Timeout: the body was not sent in time")
			return
		}
		answer(http.StatusBadRequest, "bad_request", "400 Bad Request: cannot read the body")
		return
	}
	sig := r.Header.Get("X-Hub-Signature-256")
	if sig == "" {
		answer(http.StatusForbidden, "bad_signature", "403 Forbidden: missing X-Hub-Signature-256")
		return
	}
	scope, err := secretScope(body)
	if err != nil {
		answer(http.StatusBadRequest, "bad_request", "400 Bad Request: the body is not a JSON object: "+err.Error())
		return
	}
	if !s.Secrets.Valid(scope, sig, body) {
		answer(http.StatusForbidden, "bad_signature", "403 Forbidden: invalid X-Hub-Signature-256")
		return
	}
	if eventType == "ping" {
		answer(http.StatusOK, "accepted", "pong")
		return
	}
	switch s.seen.add(delivery) {
	case handling:
		answer(http.StatusOK, "duplicate", "Delivery "+delivery+" is being handled; not handled twice.")
		return
	case handled:
		answer(http.StatusOK, "duplicate", "Delivery "+delivery+" was already handled; not handled again.")
		return
	}
	s.take(r.Context(), event{eventType: eventType, delivery: delivery, payload: body, accepted: s.Clock.Now()}, answer)
}

// take keeps a new delivery in the spool and puts it on the queue, answering 200, or 503 when it
// cannot (the spool fails, Hook is stopping, the queue is full): then it forgets the delivery, so
// that a redelivery may try again.
func (s *Server) take(ctx context.Context, ev event, answer func(code int, outcome, msg string)) {
	if s.spool != nil {
		if err := s.spool.keep(ev); err != nil {
			s.seen.remove(ev.delivery)
			ctrl.LoggerFrom(ctx).Error(err, "keep a delivery in the spool", "delivery", ev.delivery)
			answer(http.StatusServiceUnavailable, "spool_error", "503 Service Unavailable: Hook cannot keep the delivery; redeliver later")
			return
		}
	}
	switch s.accept(ev) {
	case acceptedEvent:
		answer(http.StatusOK, "accepted", "Event received. Have a nice day.")
	case shuttingDown:
		s.refused(ctx, ev.delivery)
		answer(http.StatusServiceUnavailable, "shutting_down", "503 Service Unavailable: Hook is shutting down; redeliver later")
	case queueFull:
		s.refused(ctx, ev.delivery)
		answer(http.StatusServiceUnavailable, "queue_full", "503 Service Unavailable: too many events waiting; redeliver later")
	}
}

// refused forgets a delivery the queue did not take, so that its redelivery is handled.
func (s *Server) refused(ctx context.Context, delivery string) {
	s.seen.remove(delivery)
	if s.spool != nil {
		s.spool.drop(ctx, delivery)
	}
}

// acceptance is what became of an event offered to the queue.
type acceptance int

const (
	acceptedEvent acceptance = iota
	shuttingDown
	queueFull
)

// accept puts ev on the queue unless the drain has started or the queue is full.
func (s *Server) accept(ev event) acceptance {
	s.enqueue.RLock()
	defer s.enqueue.RUnlock()
	if s.closing {
		return shuttingDown
	}
	select {
	case s.queue <- ev:
		return acceptedEvent
	default:
		return queueFull
	}
}

// secretScope is whose secret signs a payload: its repository ("org/repo"), else its
// organization.
func secretScope(body []byte) (string, error) {
	var head struct {
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
		Organization struct {
			Login string `json:"login"`
		} `json:"organization"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return "", err
	}
	if head.Repository.FullName != "" {
		return head.Repository.FullName, nil
	}
	return head.Organization.Login, nil
}

// seenSet remembers the last n delivery IDs, each being handled or handled.
type seenSet struct {
	mu    sync.Mutex
	n     int
	order *list.List
	index map[string]*list.Element // Value: *seenEntry
}

type seenEntry struct {
	id    string
	state deliveryState
}

// deliveryState is what became of a delivery ID offered to the set.
type deliveryState int

const (
	unseen   deliveryState = iota // new: the caller handles it
	handling                      // accepted and not yet handled (or being retried)
	handled                       // handled successfully
)

func newSeenSet(n int) *seenSet {
	return &seenSet{n: n, order: list.New(), index: map[string]*list.Element{}}
}

// add records id as being handled when it is new, and says what it was before.
func (s *seenSet) add(id string) deliveryState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.index[id]; ok {
		return e.Value.(*seenEntry).state
	}
	s.index[id] = s.order.PushBack(&seenEntry{id: id, state: handling})
	if s.order.Len() > s.n {
		oldest := s.order.Front()
		s.order.Remove(oldest)
		delete(s.index, oldest.Value.(*seenEntry).id)
	}
	return unseen
}

// done marks id handled.
func (s *seenSet) done(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.index[id]; ok {
		e.Value.(*seenEntry).state = handled
	}
}

// remove forgets id: it was not handled, and a redelivery may try again.
func (s *seenSet) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.index[id]; ok {
		s.order.Remove(e)
		delete(s.index, id)
	}
}
