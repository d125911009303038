package trigger

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prowl-ci/prowl/internal/hook"
)

// FuzzWebhook sends arbitrary signed events through Hook's handler and Trigger, with a real API
// server and the fake GitHub: nothing panics, and every answer is one of Hook's.
func FuzzWebhook(f *testing.F) {
	h := newHarness(f)
	h.gh.AddMember("Codertocat", "Codertocat")
	if root := filepath.Join("..", "..", "..", "shared", "testdata", "webhooks"); dirExists(root) {
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
				return err
			}
			raw, _ := os.ReadFile(p)
			f.Add(filepath.Base(filepath.Dir(p)), raw)
			return nil
		})
	}
	f.Add("issue_comment", []byte(`{"action":"created","issue":{"number":2,"pull_request":{}},"comment":{"body":"/test all","user":{"login":"Codertocat"}},"repository":{"name":"Hello-World","owner":{"login":"Codertocat"}}}`))
	f.Add("push", []byte(`{"ref":"refs/heads/master","after":"abc","repository":{"name":"Hello-World","owner":{"login":"Codertocat"}}}`))
	secretPath := filepath.Join(f.TempDir(), "hmac")
	if err := os.WriteFile(secretPath, []byte(hmacSecret), 0o600); err != nil {
		f.Fatal(err)
	}
	secrets, err := hook.LoadSecrets(secretPath)
	if err != nil {
		f.Fatal(err)
	}
	srv := &hook.Server{Secrets: secrets, Handle: h.trig.Handle}
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", event)
		req.Header.Set("X-GitHub-Delivery", "fuzz")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hub-Signature-256", hook.Signature([]byte(hmacSecret), body))
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusForbidden, http.StatusServiceUnavailable:
		default:
			t.Errorf("answer %d", rec.Code)
		}
		if rec.Code == http.StatusOK {
			_ = h.trig.Handle(context.Background(), event, "fuzz", body)
		}
	})
}

func dirExists(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}
