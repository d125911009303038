package trigger

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/github"
	"github.com/prowl-ci/prowl/internal/github/githubtest"
	"github.com/prowl-ci/prowl/internal/hook"
	"github.com/prowl-ci/prowl/internal/plugins"
	"github.com/prowl-ci/prowl/internal/testutil"
	"github.com/prowl-ci/prowl/internal/testutil/seedconfig"
)

var env *testutil.Env

func TestMain(m *testing.M) {
	ctrl.SetLogger(logr.Discard())
	os.Exit(testutil.RunWithEnv(m, &env))
}

// The jobs every test runs against: one of each way a presubmit decides to run.
const testJobs = `presubmits:
  Codertocat/Hello-World:
  - name: unit
    always_run: true
    decorate: true
    spec: {containers: [{image: alpine, command: ["true"]}]}
  - name: docs
    run_if_changed: '^docs/'
    decorate: true
    spec: {containers: [{image: alpine, command: ["true"]}]}
  - name: code-only
    skip_if_only_changed: '^docs/'
    decorate: true
    spec: {containers: [{image: alpine, command: ["true"]}]}
  - name: manual
    decorate: true
    optional: true
    spec: {containers: [{image: alpine, command: ["true"]}]}
  - name: release-only
    always_run: true
    branches: [release]
    decorate: true
    spec: {containers: [{image: alpine, command: ["true"]}]}
  - name: not-master
    always_run: true
    skip_branches: [master]
    decorate: true
    spec: {containers: [{image: alpine, command: ["true"]}]}
  kubernetes/test-infra:
  - name: pull-test-infra
    always_run: true
    decorate: true
    spec: {containers: [{image: alpine, command: ["true"]}]}
postsubmits:
  Codertocat/Hello-World:
  - name: post-unit
    branches: [master]
    decorate: true
    spec: {containers: [{image: alpine, command: ["true"]}]}
  - name: post-docs
    run_if_changed: '^docs/'
    decorate: true
    spec: {containers: [{image: alpine, command: ["true"]}]}
  - name: post-readme
    run_if_changed: '^README'
    decorate: true
    spec: {containers: [{image: alpine, command: ["true"]}]}
  - name: post-off
    always_run: false
    decorate: true
    spec: {containers: [{image: alpine, command: ["true"]}]}
  kubernetes/test-infra:
  - name: post-prow
    run_if_changed: '^prow/'
    decorate: true
    spec: {containers: [{image: alpine, command: ["true"]}]}
`

const testPlugins = `plugins:
  Codertocat:
    plugins: [trigger]
  kubernetes/test-infra:
    plugins: [trigger]
triggers:
- repos: [kubernetes]
  only_org_members: true
  join_org_url: https://example.com/join
`

const hmacSecret = "trigger-test-secret"

// harness is Hook and Trigger over a namespace of their own, a fake GitHub and real HTTP.
type harness struct {
	t    testing.TB
	ns   string
	cfg  *config.Config
	gh   *githubtest.Server
	trig *Trigger
	url  string

	mu       sync.Mutex
	handled  map[string]error
	attempts map[string]int // handler calls per delivery
	seq      atomic.Int64
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	return newHarnessWith(t, nil)
}

// newHarnessWith is newHarness with Hook's server changed by configure (its clock, its retries)
// before it starts.
func newHarnessWith(t testing.TB, configure func(*hook.Server)) *harness {
	t.Helper()
	h := &harness{t: t, ns: env.Namespace(t, "trigger"), gh: githubtest.New(t), handled: map[string]error{}, attempts: map[string]int{}}
	h.cfg = seedconfig.Load(t, h.ns, "", testJobs)
	dir := t.TempDir()
	pluginsPath := filepath.Join(dir, "plugins.yaml")
	if err := os.WriteFile(pluginsPath, []byte(testPlugins), 0o644); err != nil {
		t.Fatal(err)
	}
	pc, err := plugins.Load(pluginsPath)
	if err != nil {
		t.Fatal(err)
	}
	h.gh.AddToken("bot-token")
	tokenPath := filepath.Join(dir, "token")
	secretPath := filepath.Join(dir, "hmac")
	for p, v := range map[string]string{tokenPath: "bot-token", secretPath: hmacSecret} {
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ghc, err := github.New(github.Options{Endpoint: h.gh.URL, TokenPath: tokenPath, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h.trig = &Trigger{GitHub: ghc, Client: env.Client, Config: func() *config.Config { return h.cfg }, Plugins: func() *plugins.Config { return pc }}
	secrets, err := hook.LoadSecrets(secretPath)
	if err != nil {
		t.Fatal(err)
	}
	srv := &hook.Server{Secrets: secrets, Handle: func(ctx context.Context, eventType, delivery string, payload []byte) error {
		err := h.trig.Handle(ctx, eventType, delivery, payload)
		h.mu.Lock()
		h.handled[delivery] = err
		h.attempts[delivery]++
		h.mu.Unlock()
		return err
	}}
	if configure != nil {
		configure(srv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Run(ctx); close(done) }()
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); cancel(); <-done })
	h.url = hs.URL
	// The pull request of the octokit payloads, as the API shows it.
	h.gh.SetPullRequest("Codertocat/Hello-World", githubtest.PullRequest{Number: 2, Author: "Codertocat", HeadSHA: "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
		HeadRef: "changes", BaseRef: "master", BaseSHA: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", Files: []string{"README.md"}})
	return h
}

// send posts a signed event over HTTP and waits until Trigger has handled it; it returns the
// handling's error.
func (h *harness) send(event string, payload []byte) error {
	h.t.Helper()
	return h.sendAs(event, fmt.Sprintf("delivery-%d", h.seq.Add(1)), payload)
}

func (h *harness) sendAs(event, delivery string, payload []byte) error {
	h.t.Helper()
	if code, msg := h.post(event, delivery, payload); code != http.StatusOK {
		h.t.Fatalf("hook answered %d %s", code, msg)
	}
	var handled error
	if err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		err, ok := h.handled[delivery]
		handled = err
		return ok, nil
	}); err != nil {
		h.t.Fatalf("delivery %s was not handled", delivery)
	}
	return handled
}

// post sends a signed event over HTTP and returns Hook's answer, without waiting for handling.
func (h *harness) post(event, delivery string, payload []byte) (int, string) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.url+"/hook", bytes.NewReader(payload))
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", hook.Signature([]byte(hmacSecret), payload))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(msg)
}

func (h *harness) prowJobs() []prowv1.ProwJob {
	h.t.Helper()
	var list prowv1.ProwJobList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(h.ns)); err != nil {
		h.t.Fatal(err)
	}
	return list.Items
}

// jobs are the names of the ProwJobs, sorted, with those in state (any state when empty).
func (h *harness) jobs(states ...prowv1.ProwJobState) []string {
	h.t.Helper()
	var names []string
	for _, pj := range h.prowJobs() {
		if len(states) == 0 || slices.Contains(states, pj.Status.State) {
			names = append(names, pj.Spec.Job)
		}
	}
	sort.Strings(names)
	return names
}

// payload reads a shared webhook payload and applies edits: dotted paths to values.
func payload(t *testing.T, rel string, edits map[string]any) []byte {
	t.Helper()
	raw, err := os.ReadFile(testutil.SharedTestdata(t, "webhooks", rel))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for path, v := range edits {
		keys := strings.Split(path, ".")
		cur := m
		for _, k := range keys[:len(keys)-1] {
			next, ok := cur[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[k] = next
			}
			cur = next
		}
		cur[keys[len(keys)-1]] = v
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func equal(a, b []string) bool { return slices.Equal(a, b) || (len(a) == 0 && len(b) == 0) }
