package deck

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/deck/auth"
	"github.com/prowl-ci/prowl/internal/github"
	"github.com/prowl-ci/prowl/internal/github/githubtest"
	"github.com/prowl-ci/prowl/internal/plugins"
	"github.com/prowl-ci/prowl/internal/testutil/seedconfig"
	"github.com/prowl-ci/prowl/internal/trigger"
)

// now is the fake clock's start in every test.
var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// harness is Deck over a real cache of a namespace of its own, optionally with the fake GitHub
// (API and OAuth) for logins and team lookups.
type harness struct {
	t     *testing.T
	ns    string
	url   string
	clock *clocktesting.FakeClock
	cfg   atomic.Pointer[config.Config]
	srv   *Server
	gh    *githubtest.Server
	oauth *githubtest.OAuth
}

// setup says how to start a harness.
type setup struct {
	deck       string // the deck: section of the prow config, indented two spaces
	jobs       string // job config
	plugins    string // plugins.yaml
	login      bool   // GitHub OAuth login and team lookups through the fake GitHub
	rerun      bool   // --rerun-creates-job
	local      bool
	listenAddr string
}

func loadConfig(t testing.TB, ns, deck, jobs string) *config.Config {
	t.Helper()
	prow := "prowjob_namespace: " + ns + "\npod_namespace: " + ns + "\n"
	if deck != "" {
		prow += "deck:\n" + deck
	}
	return seedconfig.LoadText(t, prow, jobs)
}

func newHarness(t *testing.T, s setup) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := &harness{t: t, ns: env.Namespace(t, "deck"), clock: clocktesting.NewFakeClock(now)}
	h.cfg.Store(loadConfig(t, h.ns, s.deck, s.jobs))
	c, err := cache.New(env.Config, cache.Options{Scheme: env.Scheme, DefaultNamespaces: map[string]cache.Config{h.ns: {}},
		DefaultTransform: NewTransform()})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	addr := s.listenAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	h.url = "http://" + ln.Addr().String()
	o := Options{Listener: ln, Cache: c, Client: env.Client, Config: h.cfg.Load, Clock: h.clock,
		RerunCreatesJob: s.rerun, Local: s.local, Registerer: prometheus.NewRegistry(), Gatherer: prometheus.NewRegistry()}
	aopts := auth.Options{Clock: h.clock}
	if s.login {
		h.gh = githubtest.New(t)
		h.gh.AddToken("deck-token")
		h.oauth = githubtest.NewOAuth(t, h.gh, "client-id", "client-secret")
		aopts.OAuth = &auth.OAuthConfig{ClientID: "client-id", ClientSecret: "client-secret", RedirectURL: h.url + "/github-login/redirect"}
		aopts.GitHubURL, aopts.GitHubAPI = h.oauth.URL, h.gh.URL
		ghc := h.githubClient()
		o.GitHub = ghc
		pc, err := plugins.Parse([]byte(s.plugins))
		if err != nil {
			t.Fatal(err)
		}
		o.Trust = &trigger.Trigger{GitHub: ghc, Plugins: func() *plugins.Config { return pc }}
	}
	if o.Auth, err = auth.New(aopts); err != nil {
		t.Fatal(err)
	}
	if h.srv, err = New(o); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.srv.Run(ctx) }()
	select {
	case <-h.srv.Synced():
	case err := <-done:
		t.Fatalf("deck stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("deck's index did not fill")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("deck: %v", err)
		}
	})
	return h
}

func (h *harness) githubClient() *github.Client {
	path := filepath.Join(h.t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("deck-token"), 0o600); err != nil {
		h.t.Fatal(err)
	}
	c, err := github.New(github.Options{Endpoint: h.gh.URL, TokenPath: path, Retries: 1, Backoff: time.Millisecond})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// job describes a ProwJob for create.
type job struct {
	name, job string
	typ       prowv1.ProwJobType
	state     prowv1.ProwJobState
	org, repo string
	pull      int
	author    string
	title     string
	extra     string // org/repo of an extra_refs entry
	cluster   string
	age       time.Duration // started this long before now
	done      time.Duration // completed this long after start; 0 = not complete
	rac       *prowv1.RerunAuthConfig
	url       string
	hidden    bool
}

// create makes the ProwJob with its status and waits until Deck's index shows it.
func (h *harness) create(j job) *prowv1.ProwJob {
	h.t.Helper()
	if j.typ == "" {
		j.typ = prowv1.PeriodicJob
		if j.pull != 0 {
			j.typ = prowv1.PresubmitJob
		}
	}
	pj := &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Name: j.name, Namespace: h.ns, Labels: map[string]string{"created-by-prow": "true", "prow.k8s.io/job": j.job}},
		Spec: prowv1.ProwJobSpec{Type: j.typ, Job: j.job, Agent: "kubernetes", Cluster: j.cluster, RerunAuthConfig: j.rac, Hidden: j.hidden,
			PodSpec:          &corev1.PodSpec{Containers: []corev1.Container{{Name: "test", Image: "alpine", Command: []string{"true"}}}},
			DecorationConfig: &prowv1.DecorationConfig{UtilityImages: &prowv1.UtilityImages{Entrypoint: "entrypoint"}}}}
	if j.org != "" {
		pj.Spec.Refs = &prowv1.Refs{Org: j.org, Repo: j.repo, BaseRef: "main", BaseSHA: "abc"}
		if j.pull != 0 {
			pj.Spec.Refs.Pulls = []prowv1.Pull{{Number: j.pull, Author: j.author, SHA: "def", Title: j.title}}
		}
	}
	if j.extra != "" {
		org, repo, _ := strings.Cut(j.extra, "/")
		pj.Spec.ExtraRefs = []prowv1.Refs{{Org: org, Repo: repo, BaseRef: "main"}}
	}
	ctx := context.Background()
	if err := env.Client.Create(ctx, pj); err != nil {
		h.t.Fatal(err)
	}
	if j.state == "" {
		j.state = prowv1.TriggeredState
	}
	start := now.Add(-j.age)
	pj.Status = prowv1.ProwJobStatus{State: j.state, StartTime: metav1.NewTime(start), BuildID: fmt.Sprint(1000 + len(j.name)), URL: j.url}
	if j.done != 0 {
		end := metav1.NewTime(start.Add(j.done))
		pj.Status.CompletionTime = &end
	}
	if err := env.Client.Status().Update(ctx, pj); err != nil {
		h.t.Fatal(err)
	}
	if !j.hidden {
		h.waitFor(func(r *row) bool { return r.state == j.state }, pj.Name)
	}
	return pj
}

// waitFor waits until the index's row of name passes ok.
func (h *harness) waitFor(ok func(*row) bool, name string) {
	h.t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		r := h.srv.index.get(name)
		return r != nil && ok(r), nil
	})
	if err != nil {
		h.t.Fatalf("ProwJob %s never reached the index as expected: %v", name, err)
	}
}

// browser is an HTTP client with cookies, as a browser is.
func (h *harness) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get answers a GET, body as text.
func (h *harness) get(c *http.Client, path string) (int, string, http.Header) {
	h.t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Get(h.url + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var csrfRE = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// csrf is the token the list page gives c's forms.
func (h *harness) csrf(c *http.Client) string {
	h.t.Helper()
	_, body, _ := h.get(c, "/")
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		h.t.Fatalf("no CSRF token on the page:\n%s", body)
	}
	return m[1]
}

// post posts form values to path.
func (h *harness) post(c *http.Client, path string, form url.Values) (int, string) {
	h.t.Helper()
	resp, err := c.PostForm(h.url+path, form)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// login logs c in as user through the fake GitHub's OAuth pages.
func (h *harness) login(c *http.Client, user string) {
	h.t.Helper()
	resp, err := c.Get(h.url + "/github-login?dest=/")
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	authorize, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || !strings.HasPrefix(authorize.String(), h.oauth.URL+"/login/oauth/authorize") {
		h.t.Fatalf("login: %d to %q, want a redirect to GitHub's authorize page", resp.StatusCode, authorize)
	}
	q := authorize.Query()
	resp, err = c.PostForm(h.oauth.URL+"/login/oauth/authorize", url.Values{"login": {user}, "client_id": {q.Get("client_id")}, "redirect_uri": {q.Get("redirect_uri")}, "state": {q.Get("state")}})
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = c.Get(resp.Header.Get("Location"))
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/" {
		h.t.Fatalf("login redirect: %d to %q, want 302 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func metav1Time(t time.Time) metav1.Time { return metav1.NewTime(t) }
