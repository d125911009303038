package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// localPR is `prowl up` on the repository's examples with its local GitHub, a clone of the
// example repository, and the prowl binary to run `prowl pr` with.
type localPR struct {
	t       *testing.T
	up      *upProcess
	c       client.Client
	dataDir string
	repoURL string
	work    string
}

// startLocalPR starts `prowl up` with no GitHub credentials on the examples in place.
func startLocalPR(t *testing.T, dataDir string) *localPR {
	t.Helper()
	examples := filepath.Join(testutil.RepoRoot(), "examples")
	up := startUp(t, dataDir, filepath.Join(examples, "config.yaml"), filepath.Join(examples, "jobs"), "--log-format", "text")
	lp := &localPR{t: t, up: up, dataDir: dataDir}
	lp.c = up.client(t, filepath.Join(dataDir, "kubeconfig"))
	base := waitOutput(t, up, regexp.MustCompile(`repositories at (http://\S+)/ORG/REPO\.git`))
	waitOutput(t, up, regexp.MustCompile(`hook: (http://\S+)`))
	lp.repoURL = base + "/prowl-example/hello.git"
	return lp
}

// prowl runs `prowl ARGS --data-dir D` and returns its output; it fails the test on an error.
func (lp *localPR) prowl(args ...string) string {
	lp.t.Helper()
	cmd := exec.Command(filepath.Join(binaries(lp.t), "prowl"), append(args, "--data-dir", lp.dataDir)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		lp.t.Fatalf("prowl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// git runs git in the working clone.
func (lp *localPR) git(args ...string) string {
	lp.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = lp.work
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=dev", "GIT_COMMITTER_EMAIL=dev@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		lp.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// push commits files on branch (made from main when new) and pushes it over HTTP.
func (lp *localPR) push(branch string, files map[string]string) string {
	lp.t.Helper()
	lp.git("checkout", "-q", "-B", branch, "origin/"+branch)
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(lp.work, name), []byte(content), 0o755); err != nil {
			lp.t.Fatal(err)
		}
	}
	lp.git("add", "-A")
	lp.git("commit", "-q", "-m", "change "+branch)
	lp.git("push", "-q", "origin", branch)
	lp.git("fetch", "-q", "origin")
	return lp.git("rev-parse", "HEAD")
}

// newBranch makes branch from main on the server.
func (lp *localPR) newBranch(branch string) {
	lp.t.Helper()
	lp.git("push", "-q", "origin", "origin/main:refs/heads/"+branch)
	lp.git("fetch", "-q", "origin")
}

// waitJob waits for a ProwJob of job (on sha, a pull request's head or a postsubmit's base) that
// matches done, and returns every ProwJob of the job on sha.
func (lp *localPR) waitJob(job, sha string, done func([]prowv1.ProwJob) bool) []prowv1.ProwJob {
	lp.t.Helper()
	var found []prowv1.ProwJob
	err := wait.PollUntilContextTimeout(context.Background(), 300*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		var list prowv1.ProwJobList
		if err := lp.c.List(ctx, &list, client.InNamespace("default")); err != nil {
			return false, nil
		}
		found = nil
		for _, pj := range list.Items {
			if pj.Spec.Job == job && pj.Spec.Refs != nil && (pj.Spec.Refs.BaseSHA == sha || len(pj.Spec.Refs.Pulls) == 1 && pj.Spec.Refs.Pulls[0].SHA == sha) {
				found = append(found, pj)
			}
		}
		return done(found), nil
	})
	if err != nil {
		lp.t.Fatalf("%s on %s: %v\n%s", job, sha, summarize(found), lp.up.out.String())
	}
	return found
}

// waitShow polls `prowl pr show N` until it matches re.
func (lp *localPR) waitShow(n string, re *regexp.Regexp) string {
	lp.t.Helper()
	var out string
	err := wait.PollUntilContextTimeout(context.Background(), 300*time.Millisecond, 3*time.Minute, true, func(context.Context) (bool, error) {
		out = lp.prowl("pr", "show", n)
		return re.MatchString(out), nil
	})
	if err != nil {
		lp.t.Fatalf("prowl pr show %s never matched %s:\n%s", n, re, out)
	}
	return out
}

func summarize(pjs []prowv1.ProwJob) string {
	var s []string
	for _, pj := range pjs {
		s = append(s, pj.Spec.Job+"="+string(pj.Status.State))
	}
	return strings.Join(s, ", ")
}

// states matches when the jobs' states are exactly want, in any order.
func states(want ...prowv1.ProwJobState) func([]prowv1.ProwJob) bool {
	return func(pjs []prowv1.ProwJob) bool {
		if len(pjs) != len(want) {
			return false
		}
		count := map[prowv1.ProwJobState]int{}
		for _, w := range want {
			count[w]++
		}
		for _, pj := range pjs {
			count[pj.Status.State]--
		}
		for _, n := range count {
			if n != 0 {
				return false
			}
		}
		return true
	}
}

// withoutURL drops the html_url line of `prowl pr show`.
func withoutURL(show string) string {
	lines := strings.Split(show, "\n")
	if len(lines) > 1 {
		lines = append(lines[:1], lines[2:]...)
	}
	return strings.Join(lines, "\n")
}

const (
	greet   = "#!/bin/sh\necho \"Hello, ${1:-world}!\"\n"
	slow    = "#!/bin/sh\nsleep 20\necho \"Hello, ${1:-world}!\"\n"
	broken  = "#!/bin/sh\necho \"Goodbye, ${1:-world}!\"\n"
	pending = `(?m)^\s+pending\s+pull-hello-test`
)

// TestUpLocalPullRequests: with no GitHub credentials, `prowl up` serves the example repository
// with its local GitHub, and the whole flow runs through the command line: a push to main starts
// the postsubmit once; pull requests start presubmits by run_if_changed, trust and comments;
// Crier's statuses and summary comment show in `prowl pr show`; and all of it survives a restart.
func TestUpLocalPullRequests(t *testing.T) {
	if _, err := testutil.ControlPlaneAssets(); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		t.Skip("skipping: the local node runs containers in mount namespaces, which needs root")
	}
	dataDir := t.TempDir()
	lp := startLocalPR(t, dataDir)
	lp.work = filepath.Join(t.TempDir(), "hello")
	if out, err := exec.Command("git", "clone", "-q", lp.repoURL, lp.work).CombinedOutput(); err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	// A push to main: post-hello-test, once.
	mainSHA := lp.push("main", map[string]string{"README.md": "# hello\n\nPushed to main.\n"})
	lp.waitJob("post-hello-test", mainSHA, states(prowv1.SuccessState))
	show := checkMemberPull(t, lp)
	checkUntrusted(t, lp)

	// After a restart the pull requests, statuses and comments are all there.
	lp.up.stop(t)
	_ = os.Remove(filepath.Join(dataDir, "kubeconfig"))
	again := startLocalPR(t, dataDir)
	defer again.up.stop(t)
	// The server's address (in the html_url line) is new; everything else is as it was.
	if after := again.prowl("pr", "show", "1"); withoutURL(after) != withoutURL(show) {
		t.Errorf("pr show 1 after a restart:\n%s\nbefore:\n%s", after, show)
	}
	if list := again.prowl("pr", "list"); !strings.Contains(list, "prowl-example/hello#2") || !strings.Contains(list, "mallory") {
		t.Errorf("pr list after a restart:\n%s", list)
	}
}

// checkMemberPull: a member's pull request changing only README runs pull-hello-test, not
// pull-hello-syntax; a change to hello.sh runs both; a breaking push aborts the running one and
// fails with Crier's summary; /retest reruns it; the fix succeeds and the summary is deleted. It
// returns the last `prowl pr show 1`.
func checkMemberPull(t *testing.T, lp *localPR) string {
	t.Helper()
	lp.newBranch("docs")
	docs := lp.push("docs", map[string]string{"README.md": "# hello\n\nDocs only.\n"})
	if out := lp.prowl("pr", "open", "prowl-example/hello", "--head", "docs", "--title", "Docs"); !strings.Contains(out, "opened prowl-example/hello#1") {
		t.Fatalf("pr open: %s", out)
	}
	lp.waitShow("1", regexp.MustCompile(pending))
	lp.waitJob("pull-hello-test", docs, states(prowv1.SuccessState))
	lp.waitShow("1", regexp.MustCompile(`(?m)^statuses: success\n\s+success\s+pull-hello-test`))
	if got := lp.waitJob("pull-hello-syntax", docs, func([]prowv1.ProwJob) bool { return true }); len(got) != 0 {
		t.Errorf("pull-hello-syntax ran for a README change: %s", summarize(got))
	}
	// A change to hello.sh (slow, so that the next push finds it running): both presubmits run.
	slowSHA := lp.push("docs", map[string]string{"hello.sh": slow})
	lp.waitJob("pull-hello-syntax", slowSHA, func(p []prowv1.ProwJob) bool { return len(p) == 1 })
	lp.waitJob("pull-hello-test", slowSHA, states(prowv1.PendingState))
	brokenSHA := lp.push("docs", map[string]string{"hello.sh": broken})
	lp.waitJob("pull-hello-test", slowSHA, states(prowv1.AbortedState))
	lp.waitJob("pull-hello-test", brokenSHA, states(prowv1.FailureState))
	lp.waitShow("1", regexp.MustCompile("(?s)failed.*/retest.*/test pull-hello-test"))
	lp.prowl("pr", "comment", "1", "/retest")
	lp.waitJob("pull-hello-test", brokenSHA, states(prowv1.FailureState, prowv1.FailureState))
	fixed := lp.push("docs", map[string]string{"hello.sh": greet})
	lp.waitJob("pull-hello-test", fixed, states(prowv1.SuccessState))
	lp.waitShow("1", regexp.MustCompile(`(?m)^statuses: success`))
	return lp.waitShow("1", regexp.MustCompile(`(?m)^comments: 1\n`)) // the /retest only
}

// checkUntrusted: a non-member's pull request starts nothing and gets the ok-to-test comment;
// a member's /ok-to-test starts its tests.
func checkUntrusted(t *testing.T, lp *localPR) {
	t.Helper()
	lp.newBranch("mallory")
	sha := lp.push("mallory", map[string]string{"README.md": "# hello\n\nFrom a stranger.\n"})
	lp.prowl("pr", "open", "prowl-example/hello", "--head", "mallory", "--author", "mallory")
	lp.waitShow("2", regexp.MustCompile(`(?s)labels: needs-ok-to-test.*waiting for a member of prowl-example`))
	if got := lp.waitJob("pull-hello-test", sha, func([]prowv1.ProwJob) bool { return true }); len(got) != 0 {
		t.Errorf("a non-member's pull request started %s", summarize(got))
	}
	if out := lp.prowl("pr", "comment", "2", "/ok-to-test", "--as", "mallory"); !strings.Contains(out, "as mallory") {
		t.Errorf("comment as mallory: %s", out)
	}
	lp.waitShow("2", regexp.MustCompile(`Cannot trigger testing until a trusted user reviews`))
	lp.prowl("pr", "comment", "2", "/ok-to-test")
	lp.waitJob("pull-hello-test", sha, states(prowv1.SuccessState))
	lp.waitShow("2", regexp.MustCompile(`labels: ok-to-test\n`))
}
