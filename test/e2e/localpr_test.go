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
