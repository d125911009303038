package e2e

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/controlplane"
	"github.com/prowl-ci/prowl/internal/github/githubtest"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// chaosPlan is what one chaos run does: its load and its faults, from a seed.
type chaosPlan struct {
	seed int64
	// jobs is the run's size: PROWL_CHAOS_JOBS (make chaos: 2,000), else about 200.
	jobs int
	// pulls pull requests are each opened and pushed to pushes-1 times; mainPushes pushes go to main.
	pulls, pushes, mainPushes                     int
	cmKills, apiRestarts, nodeRestarts, hookKills int
	// failRate is the fraction of GitHub's answers that are errors.
	failRate float64
	// outstanding bounds the jobs started by webhooks and not yet complete, so the load lasts
	// through the faults rather than arriving at once.
	outstanding int
}

// newChaosPlan reads PROWL_CHAOS_JOBS and PROWL_CHAOS_SEED (to replay a run).
func newChaosPlan(t *testing.T) chaosPlan {
	t.Helper()
	p := chaosPlan{jobs: 200, seed: time.Now().UnixNano(), pushes: 4, failRate: 0.2, cmKills: 3, apiRestarts: 1, nodeRestarts: 1, hookKills: 1, outstanding: 24}
	if v := os.Getenv("PROWL_CHAOS_SEED"); v != "" {
		seed, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("PROWL_CHAOS_SEED=%q: %v", v, err)
		}
		p.seed = seed
	}
	if v := os.Getenv("PROWL_CHAOS_JOBS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 50 {
			t.Fatalf("PROWL_CHAOS_JOBS=%q: want a number of jobs, 50 or more", v)
		}
		p.jobs = n
	}
	// About three quarters of the jobs come from webhooks (2.5 per pull request push, 2 per push to
	// main), the rest from the periodics, which run for as long as the webhooks' jobs do.
	scale := float64(p.jobs) / 200
	p.pulls = max(1, int(math.Round(12*scale)))
	p.mainPushes = max(1, int(math.Round(30*scale)))
	if scale > 2 {
		p.cmKills, p.apiRestarts, p.nodeRestarts, p.hookKills = 10, 3, 3, 3
		p.outstanding = 40
	}
	return p
}

// TestChaos runs Prowl's parts as separate processes through their command line (the control
// plane, `prowl controller-manager`, `prowl horologium`, `prowl hook`, `prowl crier` and `prowl
// node`) under load from periodics, signed pull request webhooks whose new pushes supersede older
// runs, and pushes, while it SIGKILLs the controller manager, restarts the API server, kills and
// restarts the local node, kills Hook with webhooks in flight, and the fake GitHub fails 20% of
// its answers. Then it checks that nothing was lost and nothing happened twice.
func TestChaos(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: the local node runs containers in mount namespaces, which needs root")
	}
	assets, err := testutil.ControlPlaneAssets()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	plan := newChaosPlan(t)
	t.Logf("chaos: seed %d (PROWL_CHAOS_SEED=%d replays its load and fault points), %d jobs", plan.seed, plan.seed, plan.jobs)
	e := startChaos(t, plan, assets)
	t.Logf("chaos: every part up after %s", time.Since(start).Round(time.Second))
	e.run(t)
	t.Logf("chaos: every webhook accepted and every fault injected after %s", time.Since(start).Round(time.Second))
	e.quiesce(t)
	t.Logf("chaos: every ProwJob complete and every Pod ended after %s", time.Since(start).Round(time.Second))
	e.check(t)
	fmt.Println(e.summary(time.Since(start)))
}

// chaosEnv is one chaos run: the parts, the fake GitHub and the watch.
type chaosEnv struct {
	plan   chaosPlan
	rng    *rand.Rand
	dir    string
	cp     *controlplane.ControlPlane
	c      client.Client
	gh     *chaosGitHub
	comps  components
	watch  *transitions
	faults map[string]int
	// Figures of the checks, for the summary line.
	jobs                                         map[prowv1.ProwJobType]int
	lost, duplicated, superseded, stale, revived int
}

// startChaos starts the control plane, the fake GitHub and every component, and plans the
// webhooks.
func startChaos(t *testing.T, plan chaosPlan, assets string) *chaosEnv {
	t.Helper()
	e := &chaosEnv{plan: plan, rng: rand.New(rand.NewPCG(uint64(plan.seed), 18)), dir: t.TempDir(), faults: map[string]int{}}
	if logs := os.Getenv("PROWL_CHAOS_LOGS"); logs != "" {
		// A directory of its own under it: a run must not find an earlier run's etcd.
		dir, err := os.MkdirTemp(logs, "chaos-")
		if err != nil {
			t.Fatal(err)
		}
		e.dir = dir
	}
	ctx := context.Background()
	cpLog, err := os.Create(filepath.Join(e.dir, "controlplane.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cpLog.Close() })
	cp, err := controlplane.Start(ctx, controlplane.Options{Assets: assets, DataDir: filepath.Join(e.dir, "controlplane"), Namespaces: []string{"default", "test-pods"}, Log: cpLog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Stop() })
	e.cp, e.c = cp, testutil.KubeconfigClient(t, cp.Kubeconfig)
	api := githubtest.New(t)
	api.AddToken("chaos-token")
	api.AddMember(chaosOrg, chaosAuthor)
	api.FailRandomly(rand.New(rand.NewPCG(uint64(plan.seed), 20)), plan.failRate)
	e.gh = &chaosGitHub{api: api, http: &http.Client{Timeout: 10 * time.Second}}
	e.gh.plan(e.rng, plan.pulls, plan.pushes, plan.mainPushes)
	e.comps = e.componentsFor(t, ctx)
	e.watch = watchProwJobs(t, cp.Config, "default")
	e.comps.startAll(t)
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		resp, err := http.Get(strings.TrimSuffix(e.gh.hookURL, "/hook") + "/healthz")
		if err != nil {
			return false, nil
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	}); err != nil {
		t.Fatalf("hook did not come up:\n%s", e.comps.tails(20))
	}
	return e
}

// componentsFor writes the config and the secrets and describes each part's command line.
func (e *chaosEnv) componentsFor(t *testing.T, ctx context.Context) components {
	t.Helper()
	cfg, jobs := filepath.Join(e.dir, "config.yaml"), filepath.Join(e.dir, "jobs.yaml")
	token, hmac := filepath.Join(e.dir, "token"), filepath.Join(e.dir, "hmac")
	for path, content := range map[string]string{cfg: chaosConfig(e.dir), jobs: chaosJobs, token: "chaos-token", hmac: chaosHMAC} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close() // Hook listens there, on every start
	e.gh.hookURL = fmt.Sprintf("http://127.0.0.1:%d/hook", port)
	bin := filepath.Join(binaries(t), "prowl")
	common := []string{"--config-path", cfg, "--job-config-path", jobs, "--kubeconfig", e.cp.Kubeconfig, "--log-format", "text"}
	// A killed leader's Lease is taken over within 4 s rather than 15: the run kills it often.
	servers := []string{"--metrics-bind-address", "0", "--health-probe-bind-address", "0",
		"--leader-elect-lease-duration", "4s", "--leader-elect-renew-deadline", "3s", "--leader-elect-retry-period", "500ms"}
	github := []string{"--github-endpoint", e.gh.api.URL, "--github-token-path", token}
	args := map[string][]string{
		"controller-manager": append(append([]string{"controller-manager"}, common...), servers...),
		"horologium":         append(append([]string{"horologium"}, common...), servers...),
		"crier":              append(append(append([]string{"crier"}, common...), servers...), github...),
		"hook": append(append(append([]string{"hook"}, common...), github...), "--hmac-secret-file", hmac, "--port", strconv.Itoa(port),
			"--spool-dir", filepath.Join(e.dir, "hook-spool")),
		"node": {"node", "--config-path", cfg, "--kubeconfig", e.cp.Kubeconfig, "--data-dir", filepath.Join(e.dir, "node"), "--log-format", "text"},
	}
	cs := components{}
	for name, a := range args {
		cs[name] = &component{name: name, bin: bin, args: a, logPath: filepath.Join(e.dir, name+".log")}
	}
	return cs
}

// chaosConfig is the Prow config: jobs run on the local node on this machine's filesystem (Prowl's
// local utility images), artifacts go to a file bucket, Horologium looks every half second.
func chaosConfig(dir string) string {
	return `prowjob_namespace: default
pod_namespace: test-pods
horologium:
  tick_interval: 500ms
plank:
  max_concurrency: 12
  default_decoration_config_entries:
  - config:
      timeout: 10m
      grace_period: 10s
      skip_cloning: true
      utility_images:
        clonerefs: prowl.local/clonerefs:dev
        initupload: prowl.local/initupload:dev
        entrypoint: prowl.local/entrypoint:dev
        sidecar: prowl.local/sidecar:dev
      gcs_configuration:
        bucket: file://` + filepath.Join(dir, "artifacts") + `
        path_strategy: explicit
`
}

// chaosJobs are quick jobs: three periodics, three presubmits (one fails, one runs only when Go
// changed) and two postsubmits.
const chaosJobs = `periodics:
- name: periodic-min
  minimum_interval: 2s
  decorate: true
  spec: {containers: [{image: alpine, command: [/bin/sh, -c, 'echo periodic; sleep 0.1']}]}
- name: periodic-interval
  interval: 3s
  decorate: true
  spec: {containers: [{image: alpine, command: [/bin/sh, -c, 'echo periodic']}]}
- name: periodic-fail
  minimum_interval: 3s
  decorate: true
  spec: {containers: [{image: alpine, command: [/bin/sh, -c, 'echo failing; exit 1']}]}
presubmits:
  org/repo:
  - name: pull-ok
    always_run: true
    decorate: true
    spec: {containers: [{image: alpine, command: [/bin/sh, -c, 'echo ok; sleep 0.1']}]}
  - name: pull-fail
    always_run: true
    decorate: true
    spec: {containers: [{image: alpine, command: [/bin/sh, -c, 'echo failing; exit 1']}]}
  - name: pull-go
    run_if_changed: '\.go$'
    decorate: true
    spec: {containers: [{image: alpine, command: [/bin/sh, -c, 'echo go; sleep 0.1']}]}
postsubmits:
  org/repo:
  - name: post-ok
    branches: [main]
    decorate: true
    spec: {containers: [{image: alpine, command: [/bin/sh, -c, 'echo post; sleep 0.1']}]}
  - name: post-lint
    branches: [main]
    decorate: true
    spec: {containers: [{image: alpine, command: [/bin/sh, -c, 'echo lint']}]}
`
