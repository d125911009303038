package github

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/prowl-ci/prowl/internal/github/githubtest"
)

func tokenClient(t *testing.T, fake *githubtest.Server) *Client {
	t.Helper()
	fake.AddToken("t0ken")
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("t0ken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Endpoint: fake.URL, TokenPath: path, Backoff: time.Millisecond, MaxWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConditionalRequestsDoNotSpendTheRateLimit(t *testing.T) {
	t.Parallel()
	fake := githubtest.New(t)
	fake.SetPullRequest("o/r", githubtest.PullRequest{Number: 1, Author: "a", HeadSHA: "abc", BaseRef: "main"})
	c := tokenClient(t, fake)
	ctx := context.Background()
	before := fake.RateRemaining()
	for range 3 {
		pr, err := c.PullRequest(ctx, "o", "r", 1)
		if err != nil || pr.GetHead().GetSHA() != "abc" || pr.GetUser().GetLogin() != "a" {
			t.Fatalf("pull request: %+v, %v", pr, err)
		}
	}
	if spent := before - fake.RateRemaining(); spent != 1 {
		t.Errorf("three GETs of an unchanged pull request spent %d requests, want 1 (then 304s)", spent)
	}
	var notModified int
	for _, call := range fake.Calls() {
		if call.Status == http.StatusNotModified {
			notModified++
		}
	}
	if notModified != 2 {
		t.Errorf("%d 304s, want 2: %+v", notModified, fake.Calls())
	}
	// A change is seen: the ETag no longer matches.
	fake.SetPullRequest("o/r", githubtest.PullRequest{Number: 1, Author: "a", HeadSHA: "def", BaseRef: "main"})
	if pr, err := c.PullRequest(ctx, "o", "r", 1); err != nil || pr.GetHead().GetSHA() != "def" {
		t.Errorf("after a push: %v, %v", pr.GetHead().GetSHA(), err)
	}
}

func TestRetriesServerErrorsAndRateLimits(t *testing.T) {
	t.Parallel()
	fake := githubtest.New(t)
	c := tokenClient(t, fake)
	ctx := context.Background()
	fake.FailNext(502, 503)
	if err := c.CreateStatus(ctx, "o", "r", "abc", Status{State: "pending", Context: "ci"}); err != nil {
		t.Fatalf("after two 5xx: %v", err)
	}
	fake.RateLimitNext(2)
	if err := c.CreateComment(ctx, "o", "r", 1, "hello"); err != nil {
		t.Fatalf("after two rate-limited answers: %v", err)
	}
	if got := fake.Statuses("o/r"); len(got) != 1 {
		t.Errorf("the retried POST made %d statuses, want 1", len(got))
	}
	if got := fake.Comments("o/r", 1); len(got) != 1 || got[0].Body != "hello" {
		t.Errorf("comments %+v: the retried POST must resend its body once", got)
	}
	fake.FailNext(500, 500, 500, 500, 500, 500)
	if err := c.AddLabel(ctx, "o", "r", 1, "x"); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("after the retries run out: %v, want the 500", err)
	}
	// A 4xx other than a rate limit is not retried.
	calls := len(fake.Calls())
	if err := c.DeleteComment(ctx, "o", "r", 999); err == nil {
		t.Error("deleting a missing comment succeeded")
	}
	if n := len(fake.Calls()) - calls; n != 1 {
		t.Errorf("a 404 was tried %d times", n)
	}
}

func TestPagesAndMembership(t *testing.T) {
	t.Parallel()
	fake := githubtest.New(t)
	var files []string
	for i := range 250 {
		files = append(files, fmt.Sprintf("pkg/f%03d.go", i))
	}
	fake.SetPullRequest("o/r", githubtest.PullRequest{Number: 2, Author: "a", HeadSHA: "abc", BaseRef: "main", Files: files})
	fake.AddMember("o", "alice")
	fake.AddCollaborator("o/r", "bob")
	c := tokenClient(t, fake)
	ctx := context.Background()
	got, err := c.PullRequestFiles(ctx, "o", "r", 2)
	if err != nil || len(got) != 250 || got[249] != "pkg/f249.go" {
		t.Fatalf("files: %d, %v", len(got), err)
	}
	for _, tc := range []struct {
		user           string
		member, collab bool
	}{{"alice", true, false}, {"bob", false, true}, {"eve", false, false}} {
		m, err := c.IsMember(ctx, "o", tc.user)
		if err != nil || m != tc.member {
			t.Errorf("IsMember(%s) = %v, %v", tc.user, m, err)
		}
		col, err := c.IsCollaborator(ctx, "o", "r", tc.user)
		if err != nil || col != tc.collab {
			t.Errorf("IsCollaborator(%s) = %v, %v", tc.user, col, err)
		}
	}
}

// appKey makes a GitHub App's private key and writes it as PEM.
func appKey(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	return key, keyPath
}

func TestGitHubApp(t *testing.T) {
	t.Parallel()
	key, keyPath := appKey(t)
	for _, tc := range []struct {
		name   string
		ttl    time.Duration
		tokens int
	}{
		{"token reused while fresh", time.Hour, 1},
		{"token refreshed before it expires", 4 * time.Minute, 3}, // within 5 minutes of expiry
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := githubtest.New(t)
			fake.SetApp("42", &key.PublicKey, tc.ttl, "o")
			fake.AddMember("o", "alice")
			c, err := New(Options{Endpoint: fake.URL, AppID: "42", AppPrivateKeyPath: keyPath, Backoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if ok, err := c.IsMember(context.Background(), "o", "alice"); err != nil || !ok {
					t.Fatalf("IsMember as the App: %v, %v", ok, err)
				}
			}
			if n := fake.TokensIssued(); n != tc.tokens {
				t.Errorf("%d installation tokens issued, want %d", n, tc.tokens)
			}
			if _, err := c.IsMember(context.Background(), "elsewhere", "alice"); err == nil || !strings.Contains(err.Error(), "not installed for elsewhere") {
				t.Errorf("an org without the App: %v", err)
			}
		})
	}
	// A different key is refused.
	other, _ := appKey(t)
	fake := githubtest.New(t)
	fake.SetApp("42", &other.PublicKey, time.Hour, "o")
	c, err := New(Options{Endpoint: fake.URL, AppID: "42", AppPrivateKeyPath: keyPath, Backoff: time.Millisecond, Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.IsMember(context.Background(), "o", "alice"); err == nil {
		t.Error("a JWT signed by the wrong key was accepted")
	}
}

func TestOptionsErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing")
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{}, "no GitHub credentials"},
		{Options{TokenPath: missing}, "--github-token-path"},
		{Options{TokenPath: "x", AppID: "1"}, "not both"},
		{Options{AppID: "1"}, "--github-app-private-key-path"},
		{Options{Endpoint: "not a url", TokenPath: "x"}, "--github-endpoint"},
	} {
		if _, err := New(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error mentioning %s", tc.o, err, tc.want)
		}
	}
}

func TestOwnerOf(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"/repos/o/r/pulls/1": "o", "/orgs/o/members/u": "o", "/users/u/installation": "u", "/app/installations/1/access_tokens": "", "/user": "",
	} {
		if got := ownerOf(path); got != want {
			t.Errorf("ownerOf(%s) = %q, want %q", path, got, want)
		}
	}
}

// GitHub Enterprise serves the API under /api/v3: requests, pagination links and the App's
// per-org tokens all work under the prefix.
func TestEnterpriseEndpoint(t *testing.T) {
	t.Parallel()
	fake := githubtest.StartAt("/api/v3")
	t.Cleanup(fake.Close)
	if !strings.HasSuffix(fake.URL, "/api/v3/") {
		t.Fatalf("URL %s", fake.URL)
	}
	var files []string
	for i := range 120 {
		files = append(files, fmt.Sprintf("f%d", i))
	}
	fake.SetPullRequest("o/r", githubtest.PullRequest{Number: 1, Author: "a", HeadSHA: "abc", BaseRef: "main", Files: files})
	c := tokenClient(t, fake)
	if got, err := c.PullRequestFiles(context.Background(), "o", "r", 1); err != nil || len(got) != 120 {
		t.Fatalf("files under /api/v3: %d, %v", len(got), err)
	}
	key, keyPath := appKey(t)
	fake.SetApp("7", &key.PublicKey, time.Hour, "o")
	fake.AddMember("o", "alice")
	app, err := New(Options{Endpoint: fake.URL, AppID: "7", AppPrivateKeyPath: keyPath, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := app.IsMember(context.Background(), "o", "alice"); err != nil || !ok {
		t.Fatalf("as the App under /api/v3: %v, %v", ok, err)
	}
}

func TestRateLimitWait(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	r := &retrier{backoff: time.Second, clock: clocktesting.NewFakeClock(now)}
	for _, tc := range []struct {
		header map[string]string
		want   time.Duration
		ok     bool
	}{
		{map[string]string{"Retry-After": "30"}, 30 * time.Second, true},
		{map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000060"}, 61 * time.Second, true}, // until the reset, and a second
		{map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1699999999"}, time.Second, true},      // already past
		{map[string]string{"X-RateLimit-Remaining": "12"}, 0, false},                                                 // a 403 that is not a rate limit
	} {
		resp := &http.Response{Header: http.Header{}}
		for k, v := range tc.header {
			resp.Header.Set(k, v)
		}
		if got, ok := r.rateLimitWait(resp); got != tc.want || ok != tc.ok {
			t.Errorf("%v: %v %v, want %v %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}

// TestRetryWaitsOnTheClock: a request that met a 5xx is sent again only once the backoff has
// passed on the client's clock.
func TestRetryWaitsOnTheClock(t *testing.T) {
	t.Parallel()
	fake := githubtest.New(t)
	fake.AddToken("t0ken")
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("t0ken"), 0o600); err != nil {
		t.Fatal(err)
	}
	clk := clocktesting.NewFakeClock(time.Unix(1_700_000_000, 0))
	c, err := New(Options{Endpoint: fake.URL, TokenPath: path, Backoff: time.Hour, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	fake.FailNext(502)
	done := make(chan error, 1)
	go func() {
		done <- c.CreateStatus(context.Background(), "o", "r", "abc", Status{State: "pending", Context: "ci"})
	}()
	if err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return clk.HasWaiters(), nil
	}); err != nil {
		t.Fatal("the client never waited on its clock after the 502")
	}
	if got := fake.Statuses("o/r"); len(got) != 0 {
		t.Fatalf("the status was sent before the backoff passed: %+v", got)
	}
	clk.Step(time.Hour)
	if err := <-done; err != nil {
		t.Fatalf("after the backoff: %v", err)
	}
	if got := fake.Statuses("o/r"); len(got) != 1 {
		t.Errorf("statuses %+v, want 1", got)
	}
}
