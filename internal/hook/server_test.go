package hook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/prowl-ci/prowl/internal/testutil"
)

type recorded struct {
	mu     sync.Mutex
	events []string // eventType/delivery
}

func (r *recorded) handle(_ context.Context, eventType, delivery string, _ []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, eventType+"/"+delivery)
	return nil
}

func (r *recorded) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// secretsFile writes secrets into a file of the test's and loads it; it returns both.
func secretsFile(t *testing.T, secrets string) (*Secrets, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hmac")
	if err := os.WriteFile(path, []byte(secrets), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSecrets(path)
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

// start serves a Hook with secretFile's secrets over real HTTP.
func start(t *testing.T, secrets string) (*httptest.Server, *recorded, *Server) {
	t.Helper()
	s, _ := secretsFile(t, secrets)
	rec := &recorded{}
	srv := &Server{Secrets: s, Handle: rec.handle, Workers: 4}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Run(ctx); close(done) }()
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); cancel(); <-done })
	return hs, rec, srv
}

func post(t *testing.T, url, event, delivery, contentType, sig string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/hook", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "Content-Type": contentType, "X-Hub-Signature-256": sig} {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func waitFor(t *testing.T, rec *recorded, n int) {
	t.Helper()
	_ = wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return len(rec.list()) >= n, nil
	}) // the caller checks what was handled
}

func TestSignatures(t *testing.T) {
	t.Parallel()
	rotated := `"*":
- value: global-secret
  created_at: 2024-01-01T00:00:00Z
acme:
- value: old-acme
  created_at: 2024-01-01T00:00:00Z
- value: new-acme
  created_at: 2025-01-01T00:00:00Z
acme/special:
- value: special-secret
  created_at: 2025-01-01T00:00:00Z
`
	hs, rec, _ := start(t, rotated)
	body := func(repo string) []byte {
		return []byte(fmt.Sprintf(`{"action":"opened","repository":{"full_name":%q}}`, repo))
	}
	for i, tc := range []struct {
		name   string
		repo   string
		secret string
		sig    string // overrides the computed signature
		tamper bool
		want   int
	}{
		{name: "rotated: the old secret of the org", repo: "acme/app", secret: "old-acme", want: 200},
		{name: "rotated: the new secret of the org", repo: "acme/app", secret: "new-acme", want: 200},
		{name: "the global secret does not sign for an org with its own", repo: "acme/app", secret: "global-secret", want: 403},
		{name: "the repo's own secret", repo: "acme/special", secret: "special-secret", want: 200},
		{name: "the org's secret does not sign for a repo with its own", repo: "acme/special", secret: "new-acme", want: 403},
		{name: "the global secret elsewhere", repo: "other/repo", secret: "global-secret", want: 200},
		{name: "wrong secret", repo: "other/repo", secret: "guess", want: 403},
		{name: "missing header", repo: "other/repo", sig: "-", want: 403},
		{name: "not sha256", repo: "other/repo", sig: "sha1=abcdef", want: 403},
		{name: "tampered body", repo: "other/repo", secret: "global-secret", tamper: true, want: 403},
	} {
		b := body(tc.repo)
		sig := Signature([]byte(tc.secret), b)
		if tc.sig == "-" {
			sig = ""
		} else if tc.sig != "" {
			sig = tc.sig
		}
		if tc.tamper {
			b = bytes.Replace(b, []byte("opened"), []byte("closed"), 1)
		}
		if code, msg := post(t, hs.URL, "pull_request", fmt.Sprintf("d%d", i), "application/json", sig, b); code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, msg, tc.want)
		}
	}
	waitFor(t, rec, 4)
	if got := rec.list(); len(got) != 4 {
		t.Errorf("handled %v, want the 4 validly signed events", got)
	}
}

func TestAnswers(t *testing.T) {
	t.Parallel()
	hs, rec, srv := start(t, "s3cret\n")
	body := []byte(`{"zen":"Keep it logically awesome.","repository":{"full_name":"o/r"}}`)
	sig := Signature([]byte("s3cret"), body)
	resp, err := http.Get(hs.URL + "/hook")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET /hook: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	for _, tc := range []struct {
		name, event, delivery, ctype, sig string
		body                              []byte
		want                              int
	}{
		{"no event header", "", "d1", "application/json", sig, body, 400},
		{"no delivery header", "push", "", "application/json", sig, body, 400},
		{"not an event name", "push\x84", "d7", "application/json", sig, body, 400},
		{"form content type", "push", "d2", "application/x-www-form-urlencoded", sig, body, 400},
		{"not JSON", "push", "d3", "application/json", Signature([]byte("s3cret"), []byte("{nope")), []byte("{nope"), 400},
		{"ping", "ping", "d4", "application/json", sig, body, 200},
		{"accepted", "push", "d5", "application/json; charset=utf-8", sig, body, 200},
		{"redelivered", "push", "d5", "application/json", sig, body, 200},
		{"too large", "push", "d6", "application/json", sig, bytes.Repeat([]byte(" "), MaxBody+1), 413},
	} {
		if code, msg := post(t, hs.URL, tc.event, tc.delivery, tc.ctype, tc.sig, tc.body); code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, msg, tc.want)
		}
	}
	// Only one event went on the queue (the redelivery and the ping did not), so once it is
	// handled nothing more can be.
	if q := promtestutil.ToFloat64(srv.webhooks.WithLabelValues("push", "accepted")); q != 1 {
		t.Errorf("%v push events queued, want 1", q)
	}
	if d := promtestutil.ToFloat64(srv.webhooks.WithLabelValues("push", "duplicate")); d != 1 {
		t.Errorf("%v push events answered as duplicates, want 1", d)
	}
	waitFor(t, rec, 1)
	if got := rec.list(); len(got) != 1 || got[0] != "push/d5" {
		t.Errorf("handled %v: the redelivered push must be handled once, the ping not at all", got)
	}
	resp, err = http.Get(hs.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/healthz: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	resp, err = http.Get(hs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, want := range []string{
		`prowl_hook_webhooks_total{event_type="push",outcome="accepted"} 1`,
		`prowl_hook_webhooks_total{event_type="push",outcome="duplicate"} 1`,
		`prowl_hook_webhooks_total{event_type="push",outcome="too_large"} 1`,
		`prowl_hook_webhooks_total{event_type="unknown",outcome="bad_request"} 6`,
		`prowl_hook_events_handled_total{event_type="push",outcome="ok"} 1`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// A rewritten secret file is read again: the new secret signs, the old one no longer does.
func TestSecretReload(t *testing.T) {
	t.Parallel()
	s, path := secretsFile(t, "first")
	body := []byte(`{}`)
	if !s.Valid("o/r", Signature([]byte("first"), body), body) {
		t.Fatal("first secret refused")
	}
	if err := os.WriteFile(path, []byte("second-and-longer"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !s.Valid("o/r", Signature([]byte("second-and-longer"), body), body) || s.Valid("o/r", Signature([]byte("first"), body), body) {
		t.Error("the rewritten file was not read again")
	}
	if _, err := LoadSecrets(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "--hmac-secret-file") {
		t.Errorf("missing file: %v", err)
	}
}

// Every payload in the shared webhook corpus is accepted when signed.
func TestCorpusAccepted(t *testing.T) {
	t.Parallel()
	root := testutil.SharedTestdata(t, "webhooks")
	hs, _, _ := start(t, "corpus")
	n := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") || filepath.Base(p) == "PACKAGE.json" {
			return err
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		event := filepath.Base(filepath.Dir(p))
		if strings.HasSuffix(filepath.Dir(p), "prow-phony") {
			event = "pull_request"
		}
		n++
		if code, msg := post(t, hs.URL, event, fmt.Sprintf("corpus-%d", n), "application/json", Signature([]byte("corpus"), body), body); code != 200 {
			t.Errorf("%s: %d %s", p, code, msg)
		}
		return nil
	})
	if err != nil || n < 100 {
		t.Fatalf("walked %d payloads: %v", n, err)
	}
}

// Stopping Hook finishes every event it accepted, and refuses new ones with 503.
func TestShutdownDrains(t *testing.T) {
	t.Parallel()
	secrets, _ := secretsFile(t, "s")
	rec := &recorded{}
	release := make(chan struct{})
	srv := &Server{Secrets: secrets, Workers: 1, Handle: func(ctx context.Context, e, d string, p []byte) error {
		<-release // held until the stop: the others queue behind it
		return rec.handle(ctx, e, d, p)
	}}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { _ = srv.Run(ctx); close(stopped) }()
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	body := []byte(`{"repository":{"full_name":"o/r"}}`)
	for i := range 5 {
		if code, msg := post(t, hs.URL, "push", fmt.Sprintf("d%d", i), "application/json", Signature([]byte("s"), body), body); code != 200 {
			t.Fatalf("event %d: %d %s", i, code, msg)
		}
	}
	cancel()
	close(release)
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if got := rec.list(); len(got) != 5 {
		t.Errorf("handled %v before stopping, want all 5 accepted", got)
	}
	if code, _ := post(t, hs.URL, "push", "late", "application/json", Signature([]byte("s"), body), body); code != http.StatusServiceUnavailable {
		t.Errorf("an event after the stop: %d, want 503", code)
	}
}

// TestHandlerContext: a handler logs through the logger of Run's context, with the event and
// delivery, and its context ends once the drain timeout passes after a stop.
func TestHandlerContext(t *testing.T) {
	t.Parallel()
	secrets, _ := secretsFile(t, "s")
	var mu sync.Mutex
	var lines []string
	log := funcr.New(func(prefix, args string) { mu.Lock(); defer mu.Unlock(); lines = append(lines, args) }, funcr.Options{})
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	started, ended := make(chan struct{}), make(chan error, 1)
	srv := &Server{Secrets: secrets, Workers: 1, Clock: clk, DrainTimeout: time.Minute, Handle: func(ctx context.Context, _, _ string, _ []byte) error {
		logr.FromContextOrDiscard(ctx).Info("handling")
		close(started)
		<-ctx.Done()
		ended <- ctx.Err()
		return nil
	}}
	ctx, cancel := context.WithCancel(logr.NewContext(context.Background(), log))
	stopped := make(chan struct{})
	go func() { _ = srv.Run(ctx); close(stopped) }()
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	body := []byte(`{"repository":{"full_name":"o/r"}}`)
	if code, msg := post(t, hs.URL, "push", "d1", "application/json", Signature([]byte("s"), body), body); code != 200 {
		t.Fatalf("%d %s", code, msg)
	}
	<-started
	mu.Lock()
	got := strings.Join(lines, "\n")
	mu.Unlock()
	if !strings.Contains(got, `"event"="push"`) || !strings.Contains(got, `"delivery"="d1"`) || !strings.Contains(got, `"msg"="handling"`) {
		t.Errorf("the handler's log lines %q lack Run's logger or the event's values", got)
	}
	cancel()
	if err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return clk.HasWaiters(), nil
	}); err != nil {
		t.Fatal("the drain never started its timeout")
	}
	select {
	case err := <-ended:
		t.Fatalf("the handler's context ended (%v) at the stop, before the drain timeout", err)
	default:
	}
	clk.Step(time.Minute)
	if err := <-ended; err == nil {
		t.Error("the handler's context did not end at the drain timeout")
	}
	<-stopped
}
