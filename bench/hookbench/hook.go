// Package hookbench measures Hook and Trigger end to end: signed pull_request webhooks posted
// over loopback at a steady rate, each answered by Hook and turned by Trigger into a ProwJob in a
// real API server (envtest), with the fake GitHub answering the trust check. The latency of an
// event runs from posting it (so it includes Hook's answer) to the ProwJob's appearance in a
// watch. The baseline creates the same ProwJobs at the same rate directly (no HTTP, no GitHub, no
// Hook), timed from the create call the same way: the floor the API server and the watch set.
package hookbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/github"
	"github.com/prowl-ci/prowl/internal/github/githubtest"
	"github.com/prowl-ci/prowl/internal/hook"
	"github.com/prowl-ci/prowl/internal/jobs"
	"github.com/prowl-ci/prowl/internal/plugins"
	"github.com/prowl-ci/prowl/internal/testutil"
	"github.com/prowl-ci/prowl/internal/trigger"
)

// Result is one side's latencies.
type Result struct {
	Events   int
	P50, P99 time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("%d events, p50 %v, p99 %v", r.Events, r.P50.Round(100*time.Microsecond), r.P99.Round(100*time.Microsecond))
}

const secret = "bench-secret"

// sighting is a ProwJob's pull number and when the watch delivered it.
type sighting struct {
	pull int
	at   time.Time
}

// setup is what both sides share: a namespace, the config and a watch on its ProwJobs.
type setup struct {
	ns   string
	cfg  *config.Config
	dir  string
	seen chan sighting
	stop func()
}

func newSetup(ctx context.Context, env *testutil.Env, root string) (*setup, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "hookbench-"}}
	if err := env.Client.Create(ctx, ns); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "hookbench-")
	if err != nil {
		return nil, err
	}
	seed, err := os.ReadFile(filepath.Join(root, "testdata", "seed", "prow-config.yaml"))
	if err != nil {
		return nil, err
	}
	text := strings.NewReplacer("prowjob_namespace: default", "prowjob_namespace: "+ns.Name, "pod_namespace: test-pods", "pod_namespace: "+ns.Name).Replace(string(seed))
	opts := config.Options{ConfigPath: filepath.Join(dir, "config.yaml"), JobConfigPath: filepath.Join(dir, "jobs.yaml")}
	if err := os.WriteFile(opts.ConfigPath, []byte(text), 0o644); err != nil {
		return nil, err
	}
	jobsYAML := "presubmits:\n  org/repo:\n  - name: unit\n    always_run: true\n    decorate: true\n    spec: {containers: [{image: alpine, command: [\"true\"]}]}\n"
	if err := os.WriteFile(opts.JobConfigPath, []byte(jobsYAML), 0o644); err != nil {
		return nil, err
	}
	cfg, _, err := config.Load(opts)
	if err != nil {
		return nil, err
	}
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		return nil, err
	}
	w, err := wc.Watch(ctx, &prowv1.ProwJobList{}, client.InNamespace(ns.Name))
	if err != nil {
		return nil, err
	}
	s := &setup{ns: ns.Name, cfg: cfg, dir: dir, seen: make(chan sighting, 100000), stop: func() { w.Stop(); _ = os.RemoveAll(dir) }}
	go func() {
		for ev := range w.ResultChan() {
			if pj, ok := ev.Object.(*prowv1.ProwJob); ok && ev.Type == watch.Added {
				num, _ := strconv.Atoi(pj.Labels[prowv1.PullLabel])
				s.seen <- sighting{pull: num, at: time.Now()}
			}
		}
	}()
	return s, nil
}

// collect waits until n ProwJobs were seen, then, once every start is recorded (done), returns
// each one's latency from its start (by pull number).
func (s *setup) collect(n int, started *sync.Map, done func()) (Result, error) {
	seen := map[int]time.Time{}
	timeout := time.After(2 * time.Minute)
	for len(seen) < n {
		select {
		case sg := <-s.seen:
			seen[sg.pull] = sg.at
		case <-timeout:
			return Result{}, fmt.Errorf("only %d of %d ProwJobs appeared", len(seen), n)
		}
	}
	done()
	lat := make([]time.Duration, 0, n)
	for num, at := range seen {
		v, ok := started.Load(num)
		if !ok {
			return Result{}, fmt.Errorf("ProwJob for pull %d was never started", num)
		}
		lat = append(lat, at.Sub(v.(time.Time)))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return Result{Events: n, P50: lat[n/2], P99: lat[n*99/100]}, nil
}

// Hook posts n signed pull_request events at rate per second to Hook over loopback.
func Hook(ctx context.Context, env *testutil.Env, root string, n, rate int) (Result, error) {
	s, err := newSetup(ctx, env, root)
	if err != nil {
		return Result{}, err
	}
	defer s.stop()
	gh := githubtest.Start()
	defer gh.Close()
	gh.AddToken("bench-token")
	gh.AddMember("org", "alice")
	tokenPath, secretPath := filepath.Join(s.dir, "token"), filepath.Join(s.dir, "hmac")
	if err := os.WriteFile(tokenPath, []byte("bench-token"), 0o600); err != nil {
		return Result{}, err
	}
	if err := os.WriteFile(secretPath, []byte(secret), 0o600); err != nil {
		return Result{}, err
	}
	ghc, err := github.New(github.Options{Endpoint: gh.URL, TokenPath: tokenPath})
	if err != nil {
		return Result{}, err
	}
	kc, err := client.New(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		return Result{}, err
	}
	pc := &plugins.Config{Plugins: map[string]plugins.OrgPlugins{"org": {Plugins: []string{"trigger"}}}}
	trig := &trigger.Trigger{GitHub: ghc, Client: kc, Config: func() *config.Config { return s.cfg }, Plugins: func() *plugins.Config { return pc }}
	secrets, err := hook.LoadSecrets(secretPath)
	if err != nil {
		return Result{}, err
	}
	srv := &hook.Server{Secrets: secrets, Handle: trig.Handle}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = srv.Run(runCtx) }()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	return s.drive(n, rate, func(i int) error {
		body, _ := json.Marshal(map[string]any{
			"action": "opened", "number": i,
			"pull_request": map[string]any{"number": i, "state": "open", "user": map[string]any{"login": "alice"},
				"head": map[string]any{"sha": fmt.Sprintf("%040d", i), "ref": "b"}, "base": map[string]any{"sha": "base", "ref": "main"}},
			"repository": map[string]any{"name": "repo", "full_name": "org/repo", "owner": map[string]any{"login": "org"}},
			"sender":     map[string]any{"login": "alice"},
		})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, hs.URL+"/hook", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d", i))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hub-Signature-256", hook.Signature([]byte(secret), body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("hook answered %d", resp.StatusCode)
		}
		return nil
	})
}

// Baseline creates the same ProwJobs at the same rate, directly.
func Baseline(ctx context.Context, env *testutil.Env, root string, n, rate int) (Result, error) {
	s, err := newSetup(ctx, env, root)
	if err != nil {
		return Result{}, err
	}
	defer s.stop()
	kc, err := client.New(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		return Result{}, err
	}
	job := &s.cfg.PresubmitsStatic["org/repo"][0]
	return s.drive(n, rate, func(i int) error {
		pj := jobs.NewBuilder(s.cfg).Presubmit(job, prowv1.Refs{Org: "org", Repo: "repo", BaseRef: "main", BaseSHA: "base",
			Pulls: []prowv1.Pull{{Number: i, Author: "alice", SHA: fmt.Sprintf("%040d", i)}}})
		return jobs.Create(ctx, kc, pj)
	})
}

// drive starts event i (1..n) at rate per second, each in its own goroutine, timing it from just
// before send, and returns the latencies to each ProwJob's appearance.
func (s *setup) drive(n, rate int, send func(i int) error) (Result, error) {
	var started sync.Map
	errs := make(chan error, n)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Store(i, time.Now())
			if err := send(i); err != nil {
				errs <- err
			}
		}()
	}
	r, err := s.collect(n, &started, wg.Wait)
	close(errs)
	for e := range errs {
		return Result{}, e
	}
	return r, err
}
