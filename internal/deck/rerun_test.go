package deck

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/github/githubtest"
)

// reruns counts the ProwJobs of job in the namespace, from the API server.
func (h *harness) runsOf(jobName string) []prowv1.ProwJob {
	h.t.Helper()
	var l prowv1.ProwJobList
	if err := env.Client.List(context.Background(), &l, client.InNamespace(h.ns)); err != nil {
		h.t.Fatal(err)
	}
	var out []prowv1.ProwJob
	for _, pj := range l.Items {
		if pj.Spec.Job == jobName {
			out = append(out, pj)
		}
	}
	return out
}

func TestRerunGetShowsTheNewProwJob(t *testing.T) {
	h := newHarness(t, setup{jobs: repoJobs})
	h.create(job{name: "orig", job: "ci-one", state: prowv1.SuccessState, age: time.Hour, done: time.Minute})
	code, body, _ := h.get(nil, "/rerun?prowjob=orig")
	var pj prowv1.ProwJob
	if err := yaml.Unmarshal([]byte(body), &pj); code != http.StatusOK || err != nil {
		t.Fatalf("%d %v %s", code, err, body)
	}
	if pj.Name == "orig" || pj.Labels[prowv1.IDLabel] != pj.Name || pj.Spec.Job != "ci-one" || pj.Status.State != prowv1.TriggeredState || !pj.Status.StartTime.Equal(&metavNow) {
		t.Errorf("rerun spec: %+v %+v", pj.ObjectMeta, pj.Status)
	}
	// mode=latest builds from the config in force: the config's container, not the old one.
	_, body, _ = h.get(nil, "/rerun?prowjob=orig&mode=latest")
	if err := yaml.Unmarshal([]byte(body), &pj); err != nil || pj.Spec.PodSpec.Containers[0].Command[0] != "true" || pj.Spec.PodSpec.Containers[0].Name != "" {
		t.Errorf("mode=latest: %v %+v", err, pj.Spec.PodSpec)
	}
	if code, body, _ := h.get(nil, "/rerun?prowjob=orig&mode=newest"); code != http.StatusBadRequest || !strings.Contains(body, `parameter "mode"`) {
		t.Errorf("bad mode: %d %s", code, body)
	}
	if code, _, _ := h.get(nil, "/rerun?prowjob=missing"); code != http.StatusNotFound {
		t.Errorf("unknown: %d", code)
	}
	if code, _, _ := h.get(nil, "/rerun"); code != http.StatusBadRequest {
		t.Errorf("no prowjob: %d", code)
	}
	h.create(job{name: "gone", job: "ci-removed"})
	if code, body, _ := h.get(nil, "/rerun?prowjob=gone&mode=latest"); code != http.StatusBadRequest || !strings.Contains(body, `failed to find associated periodic job "ci-removed"`) {
		t.Errorf("mode=latest of a job no longer configured: %d %s", code, body)
	}
}

func TestRerunNeedsFlagAndCSRF(t *testing.T) {
	h := newHarness(t, setup{deck: "  rerun_auth_configs:\n    '*': {allow_anyone: true}\n"})
	h.create(job{name: "orig", job: "ci-one"})
	c := h.browser()
	token := h.csrf(c)
	if code, body := h.post(c, "/rerun?prowjob=orig", url.Values{"csrf_token": {token}}); code != http.StatusMethodNotAllowed || !strings.Contains(body, "--rerun-creates-job") {
		t.Errorf("without --rerun-creates-job: %d %s", code, body)
	}
	h2 := newHarness(t, setup{rerun: true, deck: "  rerun_auth_configs:\n    '*': {allow_anyone: true}\n"})
	h2.create(job{name: "orig", job: "ci-one"})
	c = h2.browser()
	token = h2.csrf(c)
	for name, form := range map[string]url.Values{"missing": {}, "wrong": {"csrf_token": {"x" + token}}} {
		if code, body := h2.post(c, "/rerun?prowjob=orig", form); code != http.StatusForbidden || !strings.Contains(body, "CSRF token missing or wrong") {
			t.Errorf("CSRF token %s: %d %s", name, code, body)
		}
	}
	// Another browser's token is wrong for this one.
	if code, _ := h2.post(h2.browser(), "/rerun?prowjob=orig", url.Values{"csrf_token": {token}}); code != http.StatusForbidden {
		t.Errorf("another browser's token: %d, want 403", code)
	}
	if code, _ := h2.post(c, "/abort?prowjob=orig", url.Values{}); code != http.StatusForbidden {
		t.Errorf("abort without a token: %d, want 403", code)
	}
	if n := len(h2.runsOf("ci-one")); n != 1 {
		t.Fatalf("%d runs after refused reruns, want 1", n)
	}
	code, body := h2.post(c, "/rerun?prowjob=orig", url.Values{"csrf_token": {token}})
	if code != http.StatusOK || !strings.Contains(body, "Job successfully triggered") {
		t.Fatalf("allow_anyone rerun: %d %s", code, body)
	}
	runs := h2.runsOf("ci-one")
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2", len(runs))
	}
	// A form of Deck's goes back to its page.
	code, _ = h2.post(c, "/rerun?prowjob=orig", url.Values{"csrf_token": {token}, "return": {"/?job=ci-one"}})
	if code != http.StatusSeeOther {
		t.Errorf("rerun from a form: %d, want 303", code)
	}
	if code, _ = h2.post(c, "/rerun?prowjob=orig", url.Values{"csrf_token": {token}, "return": {"//evil.example"}}); code != http.StatusOK {
		t.Errorf("a return path off the site is ignored: %d", code)
	}
}

var metavNow = metav1Time(now)

// rules are the rerun_auth_config cases: the deck config, the job's own, the plugins, who asks,
// and whether they may.
func TestRerunAuthorisation(t *testing.T) {
	const plugins = "triggers:\n- repos: [kubernetes]\n  only_org_members: false\n"
	cases := []struct {
		name     string
		deck     string
		rac      *prowv1.RerunAuthConfig
		user     string // "" for not logged in
		pull     bool
		setup    func(gh *githubtest.Server)
		wantCode int
	}{
		{name: "not logged in", deck: "  rerun_auth_configs:\n    '*': {github_users: [alice]}\n", wantCode: http.StatusUnauthorized},
		{name: "listed user", deck: "  rerun_auth_configs:\n    '*': {github_users: ['@Alice']}\n", user: "alice", wantCode: http.StatusOK},
		{name: "unlisted user", deck: "  rerun_auth_configs:\n    '*': {github_users: [alice]}\n", user: "mallory", wantCode: http.StatusForbidden},
		{name: "org member", deck: "  rerun_auth_configs:\n    kubernetes: {github_orgs: [kubernetes-sigs]}\n", user: "bob",
			setup: func(gh *githubtest.Server) { gh.AddMember("kubernetes-sigs", "bob") }, wantCode: http.StatusOK},
		{name: "not org member", deck: "  rerun_auth_configs:\n    kubernetes: {github_orgs: [kubernetes-sigs]}\n", user: "bob", wantCode: http.StatusForbidden},
		{name: "team slug", deck: "  rerun_auth_configs:\n    kubernetes/test-infra: {github_team_slugs: [{org: kubernetes, slug: ci}]}\n", user: "carol",
			setup: func(gh *githubtest.Server) { gh.AddTeamMember("kubernetes", "ci", "carol") }, wantCode: http.StatusOK},
		{name: "other team", deck: "  rerun_auth_configs:\n    kubernetes/test-infra: {github_team_slugs: [{org: kubernetes, slug: ci}]}\n", user: "carol",
			setup: func(gh *githubtest.Server) { gh.AddTeamMember("kubernetes", "docs", "carol") }, wantCode: http.StatusForbidden},
		{name: "team id", deck: "  default_rerun_auth_configs:\n  - repo: kubernetes\n    rerun_auth_configs: {github_team_ids: [7000]}\n", user: "dave",
			setup: func(gh *githubtest.Server) { gh.AddTeamMember("kubernetes", "ci", "dave") }, wantCode: http.StatusOK},
		{name: "entry for another repo", deck: "  default_rerun_auth_configs:\n  - repo: other/repo\n    rerun_auth_configs: {github_users: [erin]}\n", user: "erin", wantCode: http.StatusForbidden},
		{name: "entry for another cluster", deck: "  default_rerun_auth_configs:\n  - cluster: gpu\n    rerun_auth_configs: {github_users: [erin]}\n", user: "erin", wantCode: http.StatusForbidden},
		{name: "the more specific entry wins", deck: "  rerun_auth_configs:\n    '*': {github_users: [frank]}\n    kubernetes/test-infra: {github_users: [gina]}\n", user: "frank", wantCode: http.StatusForbidden},
		{name: "job's own rule", rac: &prowv1.RerunAuthConfig{GitHubUsers: []string{"hank"}}, user: "hank", wantCode: http.StatusOK},
		{name: "job's allow_anyone, not logged in", rac: &prowv1.RerunAuthConfig{AllowAnyone: true}, wantCode: http.StatusOK},
		{name: "trusted by trigger", user: "ivy", pull: true, setup: func(gh *githubtest.Server) { gh.AddCollaborator("kubernetes/test-infra", "ivy") }, wantCode: http.StatusOK},
		{name: "pull request with ok-to-test", user: "jack", pull: true, setup: func(gh *githubtest.Server) {
			gh.SetPullRequest("kubernetes/test-infra", githubtest.PullRequest{Number: 7, Author: "x", HeadSHA: "def", BaseRef: "main"})
			gh.SetLabels("kubernetes/test-infra", 7, "ok-to-test")
		}, wantCode: http.StatusOK},
		{name: "untrusted on a pull request", user: "kim", pull: true, setup: func(gh *githubtest.Server) {
			gh.SetPullRequest("kubernetes/test-infra", githubtest.PullRequest{Number: 7, Author: "x", HeadSHA: "def", BaseRef: "main"})
		}, wantCode: http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, setup{rerun: true, login: true, deck: tc.deck, plugins: plugins})
			if tc.setup != nil {
				tc.setup(h.gh)
			}
			j := job{name: "orig", job: "pull-unit", org: "kubernetes", repo: "test-infra", rac: tc.rac}
			if tc.pull {
				j.pull, j.author = 7, "x"
			}
			h.create(j)
			c := h.browser()
			if tc.user != "" {
				h.login(c, tc.user)
			}
			code, body := h.post(c, "/rerun?prowjob=orig", url.Values{"csrf_token": {h.csrf(c)}})
			if code != tc.wantCode {
				t.Fatalf("rerun as %q: %d %s, want %d", tc.user, code, body, tc.wantCode)
			}
			want := 1
			if code == http.StatusOK {
				want = 2
			}
			if n := len(h.runsOf("pull-unit")); n != want {
				t.Errorf("%d runs, want %d", n, want)
			}
			// Abort follows the same rules.
			code, body = h.post(c, "/abort?prowjob=orig", url.Values{"csrf_token": {h.csrf(c)}})
			if code != tc.wantCode {
				t.Errorf("abort as %q: %d %s, want %d", tc.user, code, body, tc.wantCode)
			}
		})
	}
}

func TestRerunWithoutGitHubLogin(t *testing.T) {
	h := newHarness(t, setup{rerun: true})
	h.create(job{name: "orig", job: "ci-one", state: prowv1.PendingState})
	c := h.browser()
	code, body := h.post(c, "/rerun?prowjob=orig", url.Values{"csrf_token": {h.csrf(c)}})
	if code != http.StatusInternalServerError || !strings.Contains(body, "GitHub oauth must be configured to rerun jobs unless 'allow_anyone: true' is specified.") {
		t.Errorf("no OAuth, not local: %d %s", code, body)
	}
	// Local mode: the person at the machine (over loopback) may, and the page says so.
	l := newHarness(t, setup{rerun: true, local: true})
	l.create(job{name: "orig", job: "ci-one", state: prowv1.PendingState})
	c = l.browser()
	_, page, _ := l.get(c, "/")
	if !strings.Contains(page, "Local mode: you may rerun and abort without logging in") || !strings.Contains(page, `class="button small rerun"`) || !strings.Contains(page, `class="button small danger abort"`) {
		t.Errorf("local mode page lacks its note or buttons:\n%s", page)
	}
	if code, body := l.post(c, "/rerun?prowjob=orig", url.Values{"csrf_token": {l.csrf(c)}}); code != http.StatusOK {
		t.Errorf("local rerun: %d %s", code, body)
	}
	if code, body := l.post(c, "/abort?prowjob=orig", url.Values{"csrf_token": {l.csrf(c)}}); code != http.StatusOK {
		t.Errorf("local abort: %d %s", code, body)
	}
}

func TestAbort(t *testing.T) {
	h := newHarness(t, setup{local: true})
	h.create(job{name: "running", job: "ci-one", state: prowv1.PendingState})
	h.create(job{name: "finished", job: "ci-one", state: prowv1.SuccessState, done: time.Minute, age: time.Hour})
	c := h.browser()
	token := h.csrf(c)
	if code, body := h.post(c, "/abort?prowjob=finished", url.Values{"csrf_token": {token}}); code != http.StatusBadRequest || !strings.Contains(body, `Cannot abort job with state: "success".`) {
		t.Errorf("abort a finished job: %d %s", code, body)
	}
	if code, _ := h.post(c, "/abort?prowjob=nope", url.Values{"csrf_token": {token}}); code != http.StatusNotFound {
		t.Errorf("abort unknown: %d", code)
	}
	if code, body := h.post(c, "/abort?prowjob=running", url.Values{"csrf_token": {token}}); code != http.StatusOK || !strings.Contains(body, "Job successfully aborted.") {
		t.Fatalf("abort: %d %s", code, body)
	}
	var pj prowv1.ProwJob
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: "running"}, &pj); err != nil {
		t.Fatal(err)
	}
	if pj.Status.State != prowv1.AbortedState || pj.Status.Description != "Successfully aborted running." {
		t.Errorf("after abort: %s %q", pj.Status.State, pj.Status.Description)
	}
}

func TestLogin(t *testing.T) {
	h := newHarness(t, setup{login: true, rerun: true})
	h.create(job{name: "orig", job: "ci-one"})
	c := h.browser()
	_, page, _ := h.get(c, "/")
	if !strings.Contains(page, `id="login" href="/github-login?dest=%2f"`) || !strings.Contains(page, "Log in to rerun") {
		t.Errorf("logged-out page lacks the login link")
	}
	h.login(c, "alice")
	_, page, _ = h.get(c, "/")
	if !strings.Contains(page, "Logged in as <b>alice</b>") || !strings.Contains(page, `class="button small rerun"`) {
		t.Errorf("logged-in page:\n%s", page)
	}
	u, _ := url.Parse(h.url)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "prowl_session" && strings.Contains(ck.Value, "alice") {
			t.Error("the session cookie holds the login in clear")
		}
	}
	// The session is signed: a forged cookie is no login.
	forged := h.browser()
	forged.Jar.SetCookies(u, []*http.Cookie{{Name: "prowl_session", Value: "eyJwIjoic2Vzc2lvbiIsInYiOiJhZG1pbiIsImUiOjk5OTk5OTk5OTl9.AAAA"}})
	if _, page, _ := h.get(forged, "/"); strings.Contains(page, "Logged in") {
		t.Error("a forged session cookie logged in")
	}
	// It expires.
	h.clock.Step(25 * time.Hour)
	if _, page, _ := h.get(c, "/"); strings.Contains(page, "Logged in") {
		t.Error("the session outlived its 24 hours")
	}
	// A redirect with a state that is not this browser's is refused.
	resp, err := h.browser().Get(h.url + "/github-login/redirect?code=x&state=y")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign state: %d", resp.StatusCode)
	}
	if code, _, _ := h.get(nil, "/github-login/redirect"); code != http.StatusBadRequest {
		t.Errorf("redirect without code: %d", code)
	}
	if h.oauth.Exchanges() != 1 {
		t.Errorf("%d code exchanges, want 1", h.oauth.Exchanges())
	}
}

func TestLoginCookieFlags(t *testing.T) {
	h := newHarness(t, setup{login: true})
	resp, err := h.browser().Get(h.url + "/github-login?dest=https://evil.example/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if !ck.HttpOnly || ck.SameSite == http.SameSiteDefaultMode || ck.SameSite == http.SameSiteNoneMode {
			t.Errorf("cookie %s: HttpOnly %v SameSite %v", ck.Name, ck.HttpOnly, ck.SameSite)
		}
	}
}

func TestDeckConfigBothAuthSections(t *testing.T) {
	c := &config.Config{}
	c.Deck = []byte(`{"rerun_auth_configs":{"*":{"allow_anyone":true}},"default_rerun_auth_configs":[{"repo":"*","rerun_auth_configs":{"allow_anyone":true}}]}`)
	if _, err := c.DeckConfig(); err == nil || !strings.Contains(err.Error(), "mutually exclusive") {
		t.Errorf("both sections: %v", err)
	}
	// Deck refuses to act on such a config, saying why.
	h := newHarness(t, setup{rerun: true, local: true})
	h.create(job{name: "orig", job: "ci-one"})
	bad := *h.cfg.Load()
	bad.Deck = c.Deck
	h.cfg.Store(&bad)
	b := h.browser()
	if code, body := h.post(b, "/rerun?prowjob=orig", url.Values{"csrf_token": {h.csrf(b)}}); code != http.StatusInternalServerError || !strings.Contains(body, "mutually exclusive") {
		t.Errorf("rerun under an invalid deck config: %d %s", code, body)
	}
}
