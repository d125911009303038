package deck

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/clock"

	"github.com/prowl-ci/prowl/internal/deck/auth"
)

// metrics are Deck's: request latency and size by route.
type metrics struct {
	duration *prometheus.HistogramVec
	size     *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "prowl_deck_http_request_duration_seconds",
			Help: "Time Deck took to answer, by route and status code.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"path", "code"}),
		size: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "prowl_deck_http_response_size_bytes",
			Help: "Size of Deck's answers, by route.", Buckets: prometheus.ExponentialBuckets(256, 4, 10)}, []string{"path"}),
	}
	for _, c := range []prometheus.Collector{m.duration, m.size} {
		if err := reg.Register(c); err != nil {
			if are := (prometheus.AlreadyRegisteredError{}); errors.As(err, &are) {
				switch c {
				case m.duration:
					m.duration = are.ExistingCollector.(*prometheus.HistogramVec)
				case m.size:
					m.size = are.ExistingCollector.(*prometheus.HistogramVec)
				}
				continue
			}
			return nil, err
		}
	}
	return m, nil
}

// routeLabel keeps the path label bounded: the first path segment of known routes.
func routeLabel(p string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	switch seg {
	case "", "events", "static", "prowjobs.js", "prowjob", "badge.svg", "config", "configured-jobs", "healthz",
		"metrics", "rerun", "abort", "github-login", "github-logout", "view", "job-history", "pr-history", "spyglass":
		return "/" + seg
	}
	return "other"
}

type recorder struct {
	http.ResponseWriter
	code  int
	bytes int
}

func (r *recorder) WriteHeader(code int) { r.code = code; r.ResponseWriter.WriteHeader(code) }
func (r *recorder) Write(b []byte) (int, error) {
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Flush lets Server-Sent Events through the recorder.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (m *metrics) instrument(clk clock.PassiveClock, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := clk.Now()
		rec := &recorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		route := routeLabel(r.URL.Path)
		m.duration.WithLabelValues(route, strconv.Itoa(rec.code)).Observe(clk.Since(start).Seconds())
		m.size.WithLabelValues(route).Observe(float64(rec.bytes))
	})
}

// protect is a handler that needs the CSRF token.
func protect(h http.HandlerFunc) http.Handler { return auth.RequireCSRF(h) }
