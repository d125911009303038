// Package deck measures Deck with 50,000 ProwJobs in its cache: the first page of the job list
// (no filter; a repo and state filter), /prowjobs.js with Prow's omit list, /badge.svg over a
// glob, Deck's memory, and how soon a state change reaches an open page. The ProwJobs are made
// by the jobs builder from test-infra's job config (../shared/testdata) in a realistic mix of
// types, states and ages, and live in a real API server (envtest). The baseline for
// /prowjobs.js is encoding the same list with encoding/json from the same cache.
package deck

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/bench/configload"
	"github.com/prowl-ci/prowl/internal/config"
	deckpkg "github.com/prowl-ci/prowl/internal/deck"
	"github.com/prowl-ci/prowl/internal/jobs"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// Latency is the spread of one endpoint's answers.
type Latency struct {
	Path     string
	N        int
	P50, P99 time.Duration
	Bytes    int
}

func (l Latency) String() string {
	return fmt.Sprintf("%s: p50 %v p99 %v, %d KB", l.Path, l.P50.Round(10*time.Microsecond), l.P99.Round(10*time.Microsecond), l.Bytes/1024)
}

// Result is the whole measurement.
type Result struct {
	Jobs          int
	List, Filter  Latency
	ProwJobsJS    Latency
	Badge         Latency
	BaselineJS    time.Duration // p50 of encoding the list with encoding/json from the cache
	RSSMB         float64
	LiveP50       time.Duration
	LiveP99       time.Duration
	FilterPath    string
	CreateSeconds float64 // filling etcd: the probe through the API, the rest written directly
}

// makeJobs builds n ProwJobs from the config's jobs, with states and start times over 48 hours.
func makeJobs(cfg *config.Config, ns string, n int, start time.Time) []*prowv1.ProwJob {
	b := jobs.NewBuilder(cfg)
	b.Namespace = ns
	var pres []*config.Presubmit
	var presRepo []string
	for _, repo := range config.SortedKeys(cfg.PresubmitsStatic) {
		for i := range cfg.PresubmitsStatic[repo] {
			pres = append(pres, &cfg.PresubmitsStatic[repo][i])
			presRepo = append(presRepo, repo)
		}
	}
	var posts []*config.Postsubmit
	var postsRepo []string
	for _, repo := range config.SortedKeys(cfg.PostsubmitsStatic) {
		for i := range cfg.PostsubmitsStatic[repo] {
			posts = append(posts, &cfg.PostsubmitsStatic[repo][i])
			postsRepo = append(postsRepo, repo)
		}
	}
	states := []prowv1.ProwJobState{"success", "success", "success", "success", "success", "success", "success",
		"failure", "failure", "pending", "triggered", "error", "aborted", "success", "failure", "success", "success", "pending", "success", "success"}
	authors := []string{"alice", "bob", "carol", "dave", "erin", "frank", "gina", "hank"}
	out := make([]*prowv1.ProwJob, 0, n)
	for i := range n {
		var pj *prowv1.ProwJob
		switch {
		case i%10 < 7 && len(pres) > 0:
			k := (i * 7919) % len(pres)
			org, repo, _ := strings.Cut(presRepo[k], "/")
			pj = b.Presubmit(pres[k], prowv1.Refs{Org: org, Repo: repo, BaseRef: "master", BaseSHA: "0123456789abcdef",
				Pulls: []prowv1.Pull{{Number: 1000 + i%3000, Author: authors[i%len(authors)], SHA: "fedcba9876543210", Title: "Make things better"}}})
		case i%10 < 8 && len(posts) > 0:
			k := (i * 104729) % len(posts)
			org, repo, _ := strings.Cut(postsRepo[k], "/")
			pj = b.Postsubmit(posts[k], prowv1.Refs{Org: org, Repo: repo, BaseRef: "master", BaseSHA: "0123456789abcdef"})
		default:
			pj = b.Periodic(&cfg.Periodics[(i*31)%len(cfg.Periodics)])
		}
		st := states[i%len(states)]
		began := start.Add(-time.Duration(i) * 48 * time.Hour / time.Duration(n))
		pj.Status = prowv1.ProwJobStatus{State: st, StartTime: metav1.NewTime(began), BuildID: fmt.Sprint(1700000000000000000 + i)}
		if st != prowv1.PendingState && st != prowv1.TriggeredState {
			end := metav1.NewTime(began.Add(time.Duration(1+i%40) * time.Minute))
			pj.Status.CompletionTime = &end
		}
		out = append(out, pj)
	}
	return out
}

// get times n GETs of path and returns the spread and the size of one answer.
func get(base, path string, n int) (Latency, error) {
	l := Latency{Path: path, N: n}
	times := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		resp, err := http.Get(base + path)
		if err != nil {
			return l, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return l, fmt.Errorf("GET %s: %d %w", path, resp.StatusCode, err)
		}
		times = append(times, time.Since(start))
		l.Bytes = len(b)
	}
	l.P50, l.P99 = percentiles(times)
	return l, nil
}

func percentiles(times []time.Duration) (time.Duration, time.Duration) {
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times[len(times)/2], times[min(len(times)-1, len(times)*99/100)]
}

// Run fills a namespace with n ProwJobs, serves Deck over them and measures.
func Run(ctx context.Context, env *testutil.Env, repoRoot string, n, runs int) (Result, error) {
	res := Result{Jobs: n}
	in, err := configload.Find(repoRoot)
	if err != nil {
		// A worktree under wt/ has the corpus two levels up.
		if in, err = configload.Find(filepath.Join(repoRoot, "..")); err != nil {
			return res, err
		}
	}
	cfg, _, err := config.Load(config.Options{ConfigPath: in.ConfigPath, JobConfigPath: in.JobConfigPath})
	if err != nil {
		return res, err
	}
	ns, err := namespace(ctx, env)
	if err != nil {
		return res, err
	}
	cfg.ProwJobNamespace = ns
	rc := rest.CopyConfig(env.Config)
	rc.QPS, rc.Burst = 3000, 6000
	c, err := client.New(rc, client.Options{Scheme: env.Scheme})
	if err != nil {
		return res, err
	}
	began := time.Now()
	pjs := makeJobs(cfg, ns, n, began)
	etcd := etcdGateway{url: env.EtcdURL(), hc: &http.Client{Timeout: time.Minute}}
	if err := etcd.probe(ctx, c, pjs[0]); err != nil {
		return res, err
	}
	if err := etcd.fill(ctx, pjs[1:], began); err != nil {
		return res, err
	}
	pjs = nil // the benchmark's copies are not Deck's memory
	res.CreateSeconds = time.Since(began).Seconds()
	runtime.GC()
	debug.FreeOSMemory()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ca, err := cache.New(rc, cache.Options{Scheme: env.Scheme, DefaultNamespaces: map[string]cache.Config{ns: {}},
		DefaultTransform: deckpkg.NewTransform()})
	if err != nil {
		return res, err
	}
	go func() { _ = ca.Start(ctx) }()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	srv, err := deckpkg.New(deckpkg.Options{Listener: ln, Cache: ca, Client: c, Config: func() *config.Config { return cfg }, ShowHidden: true,
		Registerer: prometheus.NewRegistry(), Gatherer: prometheus.NewRegistry()})
	if err != nil {
		return res, err
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	select {
	case <-srv.Synced():
	case err := <-done:
		return res, err
	}
	// The API server's watch of etcd may still be catching up with the fill: its last jobs reach
	// Deck as watch events after the initial list.
	for deadline := time.Now().Add(5 * time.Minute); srv.Len() != n; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			return res, fmt.Errorf("deck holds %d ProwJobs, want %d: the API server did not serve all of those written to etcd", srv.Len(), n)
		}
	}
	base := "http://" + ln.Addr().String()
	runtime.GC()
	debug.FreeOSMemory()
	res.RSSMB = rssMB()
	if err := writeHeapProfile(); err != nil {
		return res, err
	}
	return res, measure(ctx, &res, base, ca, c, ns, runs)
}

func measure(ctx context.Context, res *Result, base string, ca cache.Cache, c client.Client, ns string, runs int) error {
	var err error
	res.FilterPath = "/?repo=kubernetes/kubernetes&state=failure"
	for _, m := range []struct {
		l    *Latency
		path string
		n    int
	}{
		{&res.List, "/", 100 * runs},
		{&res.Filter, res.FilterPath, 100 * runs},
		{&res.Badge, "/badge.svg?jobs=pull-kubernetes-*", 30 * runs},
		{&res.ProwJobsJS, "/prowjobs.js?omit=annotations,labels,decoration_config,pod_spec", 2 * runs},
	} {
		if *m.l, err = get(base, m.path, m.n); err != nil {
			return err
		}
	}
	times := make([]time.Duration, 0, 2*runs)
	for range 2 * runs {
		start := time.Now()
		if err := baseline(ctx, ca, io.Discard); err != nil {
			return err
		}
		times = append(times, time.Since(start))
	}
	res.BaselineJS, _ = percentiles(times)
	res.LiveP50, res.LiveP99, err = live(ctx, base, ca, c, ns, 50*runs)
	return err
}

// baseline lists the ProwJobs from the cache and encodes them with encoding/json, as a simple
// /prowjobs.js would.
func baseline(ctx context.Context, ca cache.Cache, w io.Writer) error {
	var l prowv1.ProwJobList
	if err := ca.List(ctx, &l); err != nil {
		return err
	}
	for i := range l.Items {
		l.Items[i].Annotations, l.Items[i].Labels, l.Items[i].Spec.DecorationConfig = nil, nil, nil
		if ps := l.Items[i].Spec.PodSpec; ps != nil {
			l.Items[i].Spec.PodSpec = &corev1.PodSpec{Containers: make([]corev1.Container, len(ps.Containers))}
		}
	}
	b, err := json.Marshal(struct {
		Items []prowv1.ProwJob `json:"items"`
	}{l.Items})
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// live opens the job list's event stream and changes k pending jobs' state one at a time,
// timing each from the status update's return to its row event.
func live(ctx context.Context, base string, ca cache.Cache, c client.Client, ns string, k int) (time.Duration, time.Duration, error) {
	var l prowv1.ProwJobList
	if err := ca.List(ctx, &l, client.InNamespace(ns)); err != nil {
		return 0, 0, err
	}
	var pending []prowv1.ProwJob
	for _, pj := range l.Items {
		if pj.Status.State == prowv1.PendingState && len(pending) < k {
			pending = append(pending, pj)
		}
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(sctx, http.MethodGet, base+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	seen := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, `data: <tr id="pj-`); ok {
				name, _, _ := strings.Cut(rest, `"`)
				if strings.Contains(line, `data-state="success"`) {
					seen <- name
				}
			}
		}
	}()
	times := make([]time.Duration, 0, len(pending))
	for i := range pending {
		pj := &pending[i]
		pj.Status.State = prowv1.SuccessState
		pj.Status.CompletionTime = &metav1.Time{Time: time.Now()}
		if err := c.Status().Update(ctx, pj); err != nil {
			return 0, 0, err
		}
		start := time.Now()
		timeout := time.After(10 * time.Second)
	wait:
		for {
			select {
			case name := <-seen:
				if name == pj.Name {
					break wait
				}
			case <-timeout:
				return 0, 0, fmt.Errorf("no row event for %s within 10s", pj.Name)
			}
		}
		times = append(times, time.Since(start))
	}
	if len(times) == 0 {
		return 0, 0, fmt.Errorf("no pending jobs to change")
	}
	p50, p99 := percentiles(times)
	return p50, p99, nil
}

func namespace(ctx context.Context, env *testutil.Env) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "deck-bench-"}}
	if err := env.Client.Create(ctx, ns); err != nil {
		return "", err
	}
	return ns.Name, nil
}

// writeHeapProfile writes the heap profile to $PROWL_DECK_BENCH_HEAPPROFILE, when set, for
// `go tool pprof -sample_index=inuse_space`: where Deck's memory goes.
func writeHeapProfile() error {
	path := os.Getenv("PROWL_DECK_BENCH_HEAPPROFILE")
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// rssMB is this process's resident set in MB: Deck, its cache and index (the API server is
// another process).
func rssMB() float64 {
	raw, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb float64
			_, _ = fmt.Sscanf(strings.TrimSpace(v), "%f", &kb)
			return kb / 1024
		}
	}
	return 0
}
