package deck

import (
	"bufio"
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// rowNames are the ProwJob names of the list's rows, in order.
func rowNames(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<tr id="pj-([^"]+)"`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func seedJobs(h *harness) {
	h.create(job{name: "a-success", job: "ci-unit", state: prowv1.SuccessState, age: time.Hour, done: 10 * time.Minute})
	h.create(job{name: "b-failure", job: "pull-e2e", state: prowv1.FailureState, org: "kubernetes", repo: "test-infra", pull: 42, author: "alice", age: 2 * time.Hour, done: time.Minute, cluster: "build01"})
	h.create(job{name: "c-pending", job: "pull-unit", state: prowv1.PendingState, org: "kubernetes", repo: "test-infra", pull: 43, author: "bob", age: 3 * time.Minute})
	h.create(job{name: "d-periodic", job: "ci-extra", state: prowv1.SuccessState, extra: "kubernetes/test-infra", age: 5 * time.Hour, done: time.Hour})
	h.create(job{name: "e-error", job: "post-build", typ: prowv1.PostsubmitJob, state: prowv1.ErrorState, org: "prowl", repo: "prowl", age: 20 * time.Hour, done: time.Hour})
}

func TestListNewestFirstWithFilters(t *testing.T) {
	h := newHarness(t, setup{})
	seedJobs(h)
	code, body, hdr := h.get(nil, "/")
	if code != http.StatusOK {
		t.Fatalf("GET /: %d %s", code, body)
	}
	if got, want := strings.Join(rowNames(body), ","), "c-pending,a-success,b-failure,d-periodic,e-error"; got != want {
		t.Errorf("rows %s, want newest first %s", got, want)
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	for _, want := range []string{`href="https://github.com/kubernetes/test-infra/pull/42">#42</a>`, `href="https://github.com/alice">@alice</a>`,
		`href="/view/prowjob/a-success"`, `title="2026-11-27T11:00:00Z">1h ago</time>`, `<b>2</b> success`, `<b>1</b> pending`} {
		if !strings.Contains(body, want) {
			t.Errorf("list lacks %s", want)
		}
	}
	for query, want := range map[string]string{
		"state=success":                  "a-success,d-periodic",
		"type=presubmit":                 "c-pending,b-failure",
		"repo=kubernetes/test-infra":     "c-pending,b-failure,d-periodic",
		"pull=42":                        "b-failure",
		"author=BOB":                     "c-pending",
		"job=pull-*":                     "c-pending,b-failure",
		"cluster=build01":                "b-failure",
		"job=ci-*&state=success":         "a-success,d-periodic",
		"repo=prowl/prowl&type=periodic": "",
	} {
		_, body, _ := h.get(nil, "/?"+query)
		if got := strings.Join(rowNames(body), ","); got != want {
			t.Errorf("?%s: rows %q, want %q", query, got, want)
		}
	}
}

func TestListLeavesOutHiddenJobs(t *testing.T) {
	h := newHarness(t, setup{})
	h.create(job{name: "secret", job: "ci-private", hidden: true})
	h.create(job{name: "public", job: "ci-public"})
	_, body, _ := h.get(nil, "/")
	_, js, _ := h.get(nil, "/prowjobs.js")
	if got := strings.Join(rowNames(body), ","); got != "public" || strings.Contains(js, "ci-private") {
		t.Errorf("hidden job shown: rows %s", got)
	}
}

func TestListSuccessRates(t *testing.T) {
	h := newHarness(t, setup{})
	seedJobs(h)
	_, body, _ := h.get(nil, "/")
	// Finished within 3h: a-success (50m ago), b-failure (1h59m ago) → 50%. Within 12h: also
	// d-periodic → 66%. Within 48h: also e-error → 50%.
	for _, want := range []string{`3h <b>50%</b>`, `12h <b>66%</b>`, `48h <b>50%</b>`} {
		if !strings.Contains(body, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	_, body, _ = h.get(nil, "/?state=pending")
	if !strings.Contains(body, `3h <b>–</b>`) || !strings.Contains(body, `<b>1</b> jobs`) {
		t.Errorf("a filter with no finished jobs shows no rate and counts 1 job")
	}
}

func TestListPagesWithCursor(t *testing.T) {
	h := newHarness(t, setup{})
	seedJobs(h)
	var seen []string
	path := "/?size=2"
	for i := 0; path != "" && i < 5; i++ {
		_, body, _ := h.get(nil, path)
		names := rowNames(body)
		if len(names) > 2 {
			t.Fatalf("page %d has %d rows", i, len(names))
		}
		seen = append(seen, names...)
		m := regexp.MustCompile(`href="(\?[^"]+)" id="next"`).FindStringSubmatch(body)
		path = ""
		if m != nil {
			path = "/" + strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if got, want := strings.Join(seen, ","), "c-pending,a-success,b-failure,d-periodic,e-error"; got != want {
		t.Errorf("pages gave %s, want %s", got, want)
	}
	// A job added before the cursor's place does not shift the next page.
	_, body, _ := h.get(nil, "/?size=2")
	next := regexp.MustCompile(`href="(\?[^"]+)" id="next"`).FindStringSubmatch(body)[1]
	h.create(job{name: "z-new", job: "ci-new", age: 0})
	_, body, _ = h.get(nil, "/"+strings.ReplaceAll(next, "&amp;", "&"))
	if got := strings.Join(rowNames(body), ","); got != "b-failure,d-periodic" {
		t.Errorf("second page after an insert: %s", got)
	}
}

func TestListBadInput(t *testing.T) {
	h := newHarness(t, setup{})
	for query, want := range map[string]string{
		"type=nightly":                       `parameter "type"`,
		"state=done":                         `parameter "state"`,
		"repo=kubernetes":                    `parameter "repo": must be org/repo`,
		"pull=x":                             `parameter "pull"`,
		"pull=-3":                            `parameter "pull"`,
		"job=[":                              `parameter "job"`,
		"size=5000":                          `parameter "size"`,
		"after=garbage":                      `parameter "after"`,
		"state=a&state=b":                    `parameter "state": given more than once`,
		"author=" + strings.Repeat("x", 300): `parameter "author": longer than 256`,
	} {
		code, body, _ := h.get(nil, "/?"+query)
		if code != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("?%.40s: %d %q, want 400 naming %s", query, code, body, want)
		}
	}
	if code, _, _ := h.get(nil, "/events?state=nope"); code != http.StatusBadRequest {
		t.Errorf("/events with a bad filter: %d, want 400", code)
	}
	if code, _, _ := h.get(nil, "/no-such-page"); code != http.StatusNotFound {
		t.Errorf("unknown path: %d, want 404", code)
	}
}

func TestListEscapesUntrustedText(t *testing.T) {
	h := newHarness(t, setup{})
	h.create(job{name: "xss", job: "pull-x", org: "o", repo: "r", pull: 1, author: `"><img src=x onerror=alert(1)>`, title: `<script>alert("pwned")</script>`})
	_, body, _ := h.get(nil, "/")
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
		t.Fatalf("untrusted text reached the page unescaped:\n%s", body)
	}
	if !strings.Contains(body, "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;") {
		t.Errorf("the title is not shown as text")
	}
}

// sse reads Server-Sent Events from a stream.
type sse struct {
	r *bufio.Reader
}

func (s *sse) next(t *testing.T) (string, string) {
	t.Helper()
	var name, data string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("event stream ended: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && name != "":
			return name, data
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if data != "" {
				data += "\n"
			}
			data += strings.TrimPrefix(line, "data: ")
		}
	}
}

// until reads events until one named name whose data contains want.
func (s *sse) until(t *testing.T, name, want string) string {
	t.Helper()
	for i := 0; i < 50; i++ {
		n, d := s.next(t)
		if n == name && strings.Contains(d, want) {
			return d
		}
	}
	t.Fatalf("no %s event with %q", name, want)
	return ""
}

func TestEventsFollowStateChanges(t *testing.T) {
	h := newHarness(t, setup{})
	pj := h.create(job{name: "live", job: "ci-live", state: prowv1.PendingState, age: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.url+"/events?state=pending", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	stream := &sse{r: bufio.NewReader(resp.Body)}
	if line, _ := stream.r.ReadString('\n'); line != "retry: 2000\n" {
		t.Fatalf("stream starts %q", line)
	}
	h.create(job{name: "live2", job: "ci-live", state: prowv1.PendingState})
	row := stream.until(t, "row", `id="pj-live2"`)
	if !strings.Contains(row, `class="badge state-pending">pending`) {
		t.Errorf("row event: %s", row)
	}
	stream.until(t, "summary", `<b>2</b> pending`)
	pj.Status.State = prowv1.SuccessState
	pj.Status.CompletionTime = &metav1.Time{Time: now}
	if err := env.Client.Status().Update(context.Background(), pj); err != nil {
		t.Fatal(err)
	}
	// It leaves the pending filter.
	stream.until(t, "remove", "pj-live")
	stream.until(t, "summary", `<b>1</b> pending`)
}
