package hook

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// spoolServer runs a Server on the spool dir with handle, over real HTTP; it returns its URL.
func spoolServer(t *testing.T, dir string, handle Handler) string {
	t.Helper()
	s, _ := secretsFile(t, "spool-secret")
	srv := &Server{Secrets: s, Handle: handle, Workers: 2, Spool: dir}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = srv.Run(ctx) }()
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); cancel() })
	return hs.URL
}

// TestSpoolOutlivesAKilledHook: a Hook accepts a delivery (200) and is killed before it handled
// it (here its handler never returns, and it is abandoned without a stop). A Hook started on the
// same spool handles the delivery, once, and a redelivery of it afterwards is a duplicate.
// What a crash left half written is removed.
func TestSpoolOutlivesAKilledHook(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	first := spoolServer(t, dir, func(ctx context.Context, _, _ string, _ []byte) error {
		<-stuck // killed before it is done
		return nil
	})
	body := []byte(`{"action":"opened","repository":{"full_name":"org/repo"}}`)
	sig := Signature([]byte("spool-secret"), body)
	if code, msg := post(t, first, "pull_request", "accepted-then-killed", "application/json", sig, body); code != 200 {
		t.Fatalf("%d %s", code, msg)
	}
	if err := os.WriteFile(filepath.Join(dir, ".incoming-123"), []byte(`{"ev`), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := &recorded{}
	second := spoolServer(t, dir, rec.handle)
	waitFor(t, rec, 1)
	if got := rec.list(); len(got) != 1 || got[0] != "pull_request/accepted-then-killed" {
		t.Fatalf("the Hook started on the spool handled %v, want the delivery the killed one accepted", got)
	}
	if err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		entries, err := os.ReadDir(dir)
		return err == nil && len(entries) == 0, nil
	}); err != nil {
		t.Errorf("the spool still holds files once the delivery was handled")
	}
	// Refused as handled, not accepted again (a second handling would come after the answer).
	if code, msg := post(t, second, "pull_request", "accepted-then-killed", "application/json", sig, body); code != 200 || !strings.Contains(msg, "already handled") || len(rec.list()) != 1 {
		t.Errorf("a redelivery after it was handled: %d %s, handled %v", code, msg, rec.list())
	}
}

// TestSpoolMadeOnFirstDelivery: a delivery that arrives before Run has made the spool directory
// (Hook listens first) is accepted and handled, not refused with a spool error.
func TestSpoolMadeOnFirstDelivery(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "not", "yet")
	s, _ := secretsFile(t, "spool-secret")
	rec := &recorded{}
	srv := &Server{Secrets: s, Handle: rec.handle, Workers: 1, Spool: dir}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	body := []byte(`{"action":"opened","repository":{"full_name":"org/repo"}}`)
	if code, msg := post(t, hs.URL, "pull_request", "first", "application/json", Signature([]byte("spool-secret"), body), body); code != 200 {
		t.Fatalf("the first delivery, before the spool directory exists: %d %s", code, msg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = srv.Run(ctx) }()
	waitFor(t, rec, 1)
}
