package localnode

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestSeekLastLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		content string
		n       int
		want    string
	}{
		{"a\nb\nc\n", 1, "c\n"},
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc\n", 5, "a\nb\nc\n"},
		{"a\nb\nc", 1, "c"}, // a partial last line counts as a line
		{"a\nb\nc", 2, "b\nc"},
		{"a\n", 0, ""},
		{"", 3, ""},
	} {
		p := filepath.Join(t.TempDir(), "log")
		if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := seekLastLines(f, tc.n); err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(f)
		_ = f.Close()
		if string(got) != tc.want {
			t.Errorf("last %d lines of %q: %q, want %q", tc.n, tc.content, got, tc.want)
		}
	}
}

// follow=true streams what the container writes while it runs and ends when it exits; tailLines
// and limitBytes cut the log as the kubelet does.
func TestStreamLog(t *testing.T) {
	t.Parallel()
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	n := &Node{Name: "test", DataDir: t.TempDir(), running: map[types.UID]*podRun{}, Clock: clk}
	uid := types.UID("pod-1")
	p := n.logPath(uid, "test")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("one\ntwo\nthree\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	get := func(query string) (int, string) {
		rec := httptest.NewRecorder()
		n.streamLog(rec, httptest.NewRequest(http.MethodGet, "/containerLogs/ns/pod/test?"+query, nil), uid, "test")
		return rec.Code, rec.Body.String()
	}
	for query, want := range map[string]string{"": "one\ntwo\nthree\n", "tailLines=2": "two\nthree\n", "limitBytes=5": "one\nt", "tailLines=1&limitBytes=3": "thr"} {
		if code, got := get(query); code != 200 || got != want {
			t.Errorf("?%s: %d %q, want %q", query, code, got, want)
		}
	}
	if code, _ := get("tailLines=x"); code != http.StatusBadRequest {
		t.Errorf("a bad tailLines: %d", code)
	}
	// While the container runs, follow keeps reading; when it exits, the stream ends with all.
	run := &podRun{procs: map[string]*os.Process{"test": nil}}
	n.mu.Lock()
	n.running[uid] = run
	n.mu.Unlock()
	done := make(chan string)
	go func() { _, got := get("follow=true"); done <- got }()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	waitForPoll(t, clk) // it has sent what there is and waits for more
	_, _ = f.WriteString("four\n")
	_ = f.Close()
	clk.Step(200 * time.Millisecond)
	waitForPoll(t, clk) // it has read "four" and, the container still running, waits again
	select {
	case got := <-done:
		t.Fatalf("follow ended while the container ran: %q", got)
	default:
	}
	run.mu.Lock()
	delete(run.procs, "test")
	run.mu.Unlock()
	clk.Step(200 * time.Millisecond)
	select {
	case got := <-done:
		if got != "one\ntwo\nthree\nfour\n" {
			t.Errorf("followed %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end when the container exited")
	}
	rec := httptest.NewRecorder()
	n.streamLog(rec, httptest.NewRequest(http.MethodGet, "/", nil), uid, "missing")
	if rec.Code != http.StatusNotFound {
		t.Errorf("a container with no log: %d", rec.Code)
	}

}

// waitForPoll waits until the log stream waits on the node's clock for its next poll.
func waitForPoll(t *testing.T, clk *clocktesting.FakeClock) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return clk.HasWaiters(), nil
	}); err != nil {
		t.Fatal("the log stream never waited for more")
	}
}
