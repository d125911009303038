package hook

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prowl-ci/prowl/internal/config"
)

// Options.Run listens, answers an unsigned webhook 403 and a signed one 200 (and hands it on), and returns once its
// context ends; without a secret file it refuses to start, naming the flag.
func TestOptionsRun(t *testing.T) {
	t.Parallel()
	if err := (Options{Addr: "127.0.0.1:0"}).Run(context.Background()); err == nil || !strings.Contains(err.Error(), "--hmac-secret-file") {
		t.Errorf("without a secret: %v, want an error naming --hmac-secret-file", err)
	}
	secret := filepath.Join(t.TempDir(), "hmac")
	if err := os.WriteFile(secret, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	handled := make(chan string, 1)
	o := Options{Addr: "127.0.0.1:0", HMACSecretFile: secret, Handle: func(_ context.Context, eventType, _ string, _ []byte) error {
		handled <- eventType
		return nil
	}}
	listening := make(chan string, 1)
	o.Ready = func(addr string) { listening <- addr }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	var addr string
	select {
	case addr = <-listening:
	case err := <-done:
		t.Fatalf("Run ended before listening: %v", err)
	}
	post := func(sign bool) int {
		t.Helper()
		body := `{"ref":"refs/heads/main","repository":{"full_name":"org/repo"}}`
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/hook", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-GitHub-Delivery", "d-"+addr+map[bool]string{true: "signed", false: "unsigned"}[sign])
		req.Header.Set("Content-Type", "application/json")
		if sign {
			req.Header.Set("X-Hub-Signature-256", Signature([]byte("s3cret"), []byte(body)))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(false); code != http.StatusForbidden {
		t.Errorf("unsigned webhook: %d, want 403", code)
	}
	if code := post(true); code != http.StatusOK {
		t.Errorf("signed webhook: %d, want 200", code)
	}
	if got := <-handled; got != "push" {
		t.Errorf("handled %q, want the signed push", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after its context ended: %v, want nil", err)
	}
}

// Without a plugin config, trigger is on for exactly the repositories that have jobs.
func TestLoadPluginsWithoutAPath(t *testing.T) {
	t.Parallel()
	c := &config.Config{}
	c.PresubmitsStatic = map[string][]config.Presubmit{"org/pre": nil}
	c.PostsubmitsStatic = map[string][]config.Postsubmit{"org/post": nil}
	l, err := LoadPlugins("", c, nil)
	if err != nil {
		t.Fatal(err)
	}
	pc := l.Config()
	for _, repo := range []string{"org/pre", "org/post"} {
		org, name, _ := strings.Cut(repo, "/")
		if !pc.Enabled(org, name, "trigger") {
			t.Errorf("trigger is off for %s, which has jobs", repo)
		}
	}
	if pc.Enabled("org", "other", "trigger") || len(pc.Plugins) != 2 {
		t.Errorf("trigger on beyond the repositories with jobs: %v", pc.Plugins)
	}
}
