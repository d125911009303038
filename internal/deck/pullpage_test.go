package deck

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// pullsOf serves fixed pull requests: the page's source is `prowl up`'s local GitHub, which
// internal/forge tests; here only the page is under test.
type pullsOf map[string]PullView

func (p pullsOf) PullView(_ context.Context, org, repo string, n int) (PullView, error) {
	v, ok := p[org+"/"+repo]
	if !ok || v.Number != n {
		return PullView{}, ErrNoPull
	}
	return v, nil
}

// TestPullPage: the pull request page shows the statuses (linked to their runs), labels and
// comments, escapes what users wrote, and answers 404 for a pull request that does not exist.
func TestPullPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{local: true})
	h.srv.Handle(PullPagePath, h.srv.PullPage(pullsOf{"org/repo": {Repo: "org/repo", Number: 3, Title: "<script>alert(1)</script>", State: "open",
		Author: "alice", Head: "feature", HeadSHA: "abc123", Base: "main", Labels: []string{"ok-to-test"}, Combined: "failure",
		Statuses: []PullStatus{{State: "failure", Context: "pull-unit", Description: "Job failed.", TargetURL: "/view/prowjob/x"}},
		Comments: []PullComment{{User: "prowl-bot", Body: "say `/retest` <b>now</b>"}}}}))
	c := h.browser()
	code, body, _ := h.get(c, "/github/org/repo/pull/3")
	if code != http.StatusOK {
		t.Fatalf("GET the page: %d\n%s", code, body)
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", `<a href="/view/prowjob/x">pull-unit</a>`, "Job failed.", "ok-to-test",
		"prowl-bot", "say `/retest` &lt;b&gt;now&lt;/b&gt;", "prowl pr show 3 --repo org/repo"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<b>now") {
		t.Errorf("the page did not escape what users wrote:\n%s", body)
	}
	for _, path := range []string{"/github/org/repo/pull/4", "/github/org/other/pull/3", "/github/org/repo/pull/x"} {
		if code, _, _ := h.get(c, path); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
}
