package hook

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
)

// Bad webhooks, each over real HTTP, each answered with the status that says what is wrong;
// the good event sent after them all is still handled, once.
func TestBadWebhooks(t *testing.T) {
	t.Parallel()
	hs, rec, srv := start(t, "s3cret\n")
	sign := func(b []byte) string { return Signature([]byte("s3cret"), b) }
	good := []byte(`{"ref":"refs/heads/main","repository":{"full_name":"o/r"}}`)
	truncated := good[:len(good)/2]
	nested := []byte(strings.Repeat("[", 100000) + strings.Repeat("]", 100000))
	nestedObject := []byte(strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000))
	array := []byte(`[{"repository":{"full_name":"o/r"}}]`)
	huge := append(append([]byte(`{"x":"`), bytes.Repeat([]byte("a"), MaxBody-7)...), '"', '}') // MaxBody + 1 bytes
	for _, tc := range []struct {
		name, event, delivery, ctype string
		body                         []byte
		want                         int
	}{
		{"truncated JSON", "push", "t1", "application/json", truncated, 400},
		{"deeply nested arrays", "push", "t2", "application/json", nested, 400},
		{"deeply nested objects", "push", "t3", "application/json", nestedObject, 400},
		{"a JSON array at the top", "push", "t4", "application/json", array, 400},
		{"text/plain", "push", "t5", "text/plain", good, 400},
		{"no content type", "push", "t6", "", good, 400},
		{"a form", "push", "t7", "application/x-www-form-urlencoded", good, 400},
		{"a malformed content type", "push", "t8", "application/json; charset", good, 400},
		{"a non-UTF-8 event header", "push\xff\xfe", "t9", "application/json", good, 400},
		{"a non-UTF-8 delivery header", "push", "d\xff\xfe", "application/json", good, 400},
		{"a delivery header of 200 characters", "push", strings.Repeat("d", 200), "application/json", good, 400},
		{"25 MB + 1 byte", "push", "t10", "application/json", huge, 413},
	} {
		if len(tc.body) > MaxBody && len(huge) != MaxBody+1 {
			t.Fatalf("the large body is %d bytes", len(huge))
		}
		if code, msg := post(t, hs.URL, tc.event, tc.delivery, tc.ctype, sign(tc.body), tc.body); code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, msg, tc.want)
		}
	}
	if code, msg := post(t, hs.URL, "push", "good", "application/json", sign(good), good); code != 200 {
		t.Fatalf("the good event after the bad ones: %d %s", code, msg)
	}
	waitFor(t, rec, 1)
	if got := rec.list(); len(got) != 1 || got[0] != "push/good" {
		t.Errorf("handled %v, want only the good push", got)
	}
	if n := promtestutil.ToFloat64(srv.webhooks.WithLabelValues("unknown", "bad_request")); n != 11 {
		t.Errorf("%v answered bad_request, want 11", n)
	}
}

// 10,000 deliveries with one ID, from 8 clients at once: one is handled, every other is
// answered as a duplicate.
func TestTenThousandCopies(t *testing.T) {
	t.Parallel()
	hs, rec, srv := start(t, "s3cret\n")
	body := []byte(`{"ref":"refs/heads/main","repository":{"full_name":"o/r"}}`)
	sig := Signature([]byte("s3cret"), body)
	const copies, clients = 10000, 8
	var wg sync.WaitGroup
	errs := make(chan string, copies)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range copies / clients {
				req, _ := http.NewRequest(http.MethodPost, hs.URL+"/hook", bytes.NewReader(body))
				req.Header.Set("X-GitHub-Event", "push")
				req.Header.Set("X-GitHub-Delivery", "same")
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Hub-Signature-256", sig)
				resp, err := hs.Client().Do(req)
				if err != nil {
					errs <- fmt.Sprintf("client %d: %v", c, err)
					return
				}
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Sprintf("client %d: %d", c, resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	waitFor(t, rec, 1)
	accepted := promtestutil.ToFloat64(srv.webhooks.WithLabelValues("push", "accepted"))
	dups := promtestutil.ToFloat64(srv.webhooks.WithLabelValues("push", "duplicate"))
	if accepted != 1 || dups != copies-1 {
		t.Errorf("%v accepted, %v duplicates; want 1 and %d", accepted, dups, copies-1)
	}
	if got := rec.list(); len(got) != 1 {
		t.Errorf("handled %d times, want once", len(got))
	}
}

// A client that trickles its body a byte at a time is answered 408 once the read timeout
// passes, and other clients are served meanwhile.
func TestSlowClientTimedOut(t *testing.T) {
	t.Parallel()
	secret := filepath.Join(t.TempDir(), "hmac")
	if err := os.WriteFile(secret, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	handled := make(chan string, 10)
	listening := make(chan string, 1)
	o := Options{Addr: "127.0.0.1:0", HMACSecretFile: secret, ReadTimeout: time.Second, Ready: func(a string) { listening <- a },
		Handle: func(_ context.Context, _, delivery string, _ []byte) error { handled <- delivery; return nil }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	addr := <-listening
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := fmt.Fprintf(conn, "POST /hook HTTP/1.1\r\nHost: hook\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: slow\r\n"+
		"Content-Type: application/json\r\nX-Hub-Signature-256: sha256=00\r\nContent-Length: 100000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	trickle := time.NewTicker(100 * time.Millisecond) // the slow client's pace, not the test's
	defer trickle.Stop()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-trickle.C:
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	body := []byte(`{"repository":{"full_name":"o/r"}}`)
	if code, msg := post(t, "http://"+addr, "push", "fast", "application/json", Signature([]byte("s3cret"), body), body); code != 200 {
		t.Fatalf("a client served while the slow one trickles: %d %s", code, msg)
	}
	if got := <-handled; got != "fast" {
		t.Errorf("handled %q", got)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the slow client got no answer: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("the slow client: %d, want 408", resp.StatusCode)
	}
}
