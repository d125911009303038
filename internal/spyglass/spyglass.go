// Package spyglass is Prowl's run page and history pages: what a developer opens from a failing
// status to see why it failed. It reads a run's files from its bucket (gs, s3 or file) and, while
// the run's Pod is alive, follows the test container's log through the Pod log API. It serves
// Prow's routes (/view/, /job-history/, /pr-history) so existing links keep working, inside the
// look and authorisation of the server that mounts it (Deck), given as a Chrome.
package spyglass

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strings"
	"sync"

	"gocloud.dev/blob"
	"k8s.io/utils/clock"
	"k8s.io/utils/lru"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/storage"
)

// Chrome is Deck's look and authorisation, supplied by the server that mounts spyglass.
type Chrome interface {
	// Page writes a whole HTML page (header, nav, stylesheet) around body; title is escaped.
	Page(w http.ResponseWriter, r *http.Request, title string, body template.HTML)
	// Actions is the rerun and abort controls for pj that the request's user may use, or why not; empty for neither.
	Actions(r *http.Request, pj *prowv1.ProwJob) template.HTML
}

// PodLogs streams a container's log and keeps following it while the container runs; the
// stream ends when the container does. Deck gives one over every build cluster.
type PodLogs interface {
	FollowLog(ctx context.Context, cluster, namespace, pod, container string) (io.ReadCloser, error)
}

// BucketOpener opens a bucket named as the config names it (gs://name, s3://name, file:///dir
// or a bare GCS name).
type BucketOpener func(ctx context.Context, bucket string) (*blob.Bucket, error)

// Options are what the pages read from.
type Options struct {
	// Config is the current config: allowed buckets, deck.spyglass, the namespaces.
	Config func() *config.Config
	// ProwJobs reads ProwJobs (Deck's informer cache); nil shows runs from the bucket only.
	ProwJobs client.Reader
	// PodLogs follows running Pods' logs; nil shows the bucket's log only.
	PodLogs PodLogs
	// OpenBucket opens buckets; nil uses storage.Open with default credentials.
	OpenBucket BucketOpener
	// Chrome wraps pages; nil is PlainChrome.
	Chrome Chrome
	// Clock gives "now" for running durations.
	Clock clock.PassiveClock
}

// Handler serves /view/, /job-history/, /pr-history and /spyglass/ (static files, log pages,
// live logs, artifact downloads). Mount it on all four prefixes.
type Handler struct {
	o    Options
	tmpl *template.Template

	mu      sync.Mutex
	buckets map[string]*blob.Bucket
	// finishedRuns caches finished runs' metadata for the history pages (runmeta.go).
	finishedRuns *lru.Cache
}

// New checks the options and builds the handler.
func New(o Options) (*Handler, error) {
	if o.Config == nil {
		return nil, errors.New("spyglass: Options.Config is required")
	}
	if o.Chrome == nil {
		o.Chrome = PlainChrome{}
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.OpenBucket == nil {
		o.OpenBucket = func(ctx context.Context, bucket string) (*blob.Bucket, error) {
			return storage.Open(ctx, bucket, storage.Options{})
		}
	}
	t, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	return &Handler{o: o, tmpl: t, buckets: map[string]*blob.Bucket{}, finishedRuns: lru.New(finishedRunsCached)}, nil
}

// Close closes the buckets the handler opened.
func (h *Handler) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for k, b := range h.buckets {
		errs = append(errs, b.Close())
		delete(h.buckets, k)
	}
	return errors.Join(errs...)
}

// bucket opens (once) the bucket of loc.
func (h *Handler) bucket(ctx context.Context, loc location) (*blob.Bucket, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if b, ok := h.buckets[loc.Bucket]; ok {
		return b, nil
	}
	b, err := h.o.OpenBucket(ctx, loc.Bucket)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", loc.Bucket, err)
	}
	h.buckets[loc.Bucket] = b
	return b, nil
}

// ServeHTTP dispatches by path prefix.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := checkRawPath(r); err != nil {
		h.fail(w, r, &httpError{code: http.StatusBadRequest, msg: err.Error()})
		return
	}
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/spyglass/static/"):
		serveStatic(w, r, strings.TrimPrefix(p, "/spyglass/static/"))
	case strings.HasPrefix(p, "/view/"):
		h.serveView(w, r, strings.TrimPrefix(p, "/view/"))
	case strings.HasPrefix(p, "/spyglass/live/"):
		h.serveLive(w, r, strings.TrimPrefix(p, "/spyglass/live/"))
	case strings.HasPrefix(p, "/spyglass/buildlog/"):
		h.serveBuildLogFragment(w, r, strings.TrimPrefix(p, "/spyglass/buildlog/"))
	case strings.HasPrefix(p, "/spyglass/fold/"):
		h.serveFold(w, r, strings.TrimPrefix(p, "/spyglass/fold/"))
	case strings.HasPrefix(p, "/spyglass/file/"):
		h.serveFile(w, r, strings.TrimPrefix(p, "/spyglass/file/"))
	case strings.HasPrefix(p, "/spyglass/artifacts/"):
		h.serveArtifacts(w, r, strings.TrimPrefix(p, "/spyglass/artifacts/"))
	case strings.HasPrefix(p, "/job-history/"):
		h.serveJobHistory(w, r, strings.TrimPrefix(p, "/job-history/"))
	case p == "/pr-history" || p == "/pr-history/":
		h.servePRHistory(w, r)
	default:
		h.fail(w, r, notFound("There is no Spyglass page at %s.", p))
	}
}

// checkRawPath refuses an encoded dot segment or slash (%2e%2e, %2f) before any decoding
// could make it a real one.
func checkRawPath(r *http.Request) error {
	raw := strings.ToLower(r.URL.EscapedPath())
	for _, bad := range []string{"%2e", "%2f", "%5c", "%00"} {
		if strings.Contains(raw, bad) {
			return fmt.Errorf("path %q: encoded dots, slashes and backslashes are not allowed", r.URL.EscapedPath())
		}
	}
	return nil
}

// httpError is an error with the status code and the message a person reads.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func notFound(format string, args ...any) *httpError {
	return &httpError{code: http.StatusNotFound, msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *httpError {
	return &httpError{code: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// fail answers with err's status code (500 for an error without one) and a page saying it.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := http.StatusInternalServerError, err.Error()
	var he *httpError
	if errors.As(err, &he) {
		code = he.code
	} else if storage.IsNotFound(err) {
		code = http.StatusNotFound
	}
	w.Header().Set("Cache-Control", "no-store")
	body := h.render("error", map[string]any{"Code": code, "Status": http.StatusText(code), "Message": msg})
	w.WriteHeader(code)
	if r.Method == http.MethodHead {
		return
	}
	h.o.Chrome.Page(w, r, http.StatusText(code), body)
}

// render executes a named template into HTML; a template error becomes visible text.
func (h *Handler) render(name string, data any) template.HTML {
	var b strings.Builder
	if err := h.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		return template.HTML("<p class=\"sg-error\">" + template.HTMLEscapeString(fmt.Sprintf("render %s: %v", name, err)) + "</p>")
	}
	return template.HTML(b.String()) //nolint:gosec // html/template output
}
