package trigger

import (
	"strings"
	"testing"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

const ghe = "https://ghe.example.com"

// enterprise rewrites a corpus payload's html_url fields onto the Enterprise host, as GitHub
// Enterprise sends them.
func enterprise(t *testing.T, rel string, edits map[string]any) []byte {
	t.Helper()
	return []byte(strings.ReplaceAll(string(payload(t, rel, edits)), "https://github.com/", ghe+"/"))
}

// checkLinks fails when a link of refs is not on the Enterprise host.
func checkLinks(t *testing.T, pj prowv1.ProwJob) {
	t.Helper()
	r := pj.Spec.Refs
	links := []string{r.RepoLink, r.BaseLink}
	for _, p := range r.Pulls {
		links = append(links, p.Link, p.CommitLink, p.AuthorLink)
	}
	for _, l := range links {
		if !strings.HasPrefix(l, ghe+"/Codertocat") {
			t.Errorf("%s: link %q is not on %s (refs %+v)", pj.Spec.Job, l, ghe, r)
		}
	}
}

// linkedJobs checks that h holds n ProwJobs whose links are all on the Enterprise host.
func linkedJobs(t *testing.T, h *harness, n int) []prowv1.ProwJob {
	t.Helper()
	pjs := h.prowJobs()
	if len(pjs) != n {
		t.Fatalf("ProwJobs %v, want %d", h.jobs(), n)
	}
	for _, pj := range pjs {
		checkLinks(t, pj)
	}
	return pjs
}

// On GitHub Enterprise every link in a ProwJob's refs comes from the event's or the API's
// html_url fields, so it points at the Enterprise host, not github.com.
func TestEnterpriseLinks(t *testing.T) {
	t.Parallel()
	t.Run("pull_request event", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.gh.AddMember("Codertocat", "Codertocat")
		if err := h.send("pull_request", enterprise(t, "octokit/pull_request/opened_1.json", nil)); err != nil {
			t.Fatal(err)
		}
		for _, pj := range linkedJobs(t, h, 2) {
			r := pj.Spec.Refs
			if want := ghe + "/Codertocat/Hello-World/pull/2/commits/" + headSHA; r.Pulls[0].CommitLink != want || r.BaseLink != ghe+"/Codertocat/Hello-World/commit/"+r.BaseSHA {
				t.Errorf("commit link %q, base link %q", r.Pulls[0].CommitLink, r.BaseLink)
			}
		}
	})
	t.Run("a comment: the pull request from the API", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.gh.SetWebURL(ghe)
		h.gh.AddMember("Codertocat", "m")
		if err := h.send("issue_comment", enterprise(t, "octokit/issue_comment/created_1.json", map[string]any{
			"issue.number": 2, "issue.pull_request": map[string]any{"url": ghe + "/api/v3/repos/Codertocat/Hello-World/pulls/2"},
			"comment.body": "/test manual", "comment.user.login": "m", "sender.login": "m",
		})); err != nil {
			t.Fatal(err)
		}
		linkedJobs(t, h, 1)
	})
	t.Run("push event", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		if err := h.send("push", enterprise(t, "octokit/push/none_5.json", nil)); err != nil {
			t.Fatal(err)
		}
		linkedJobs(t, h, 2)
	})
}
