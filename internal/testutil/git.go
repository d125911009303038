package testutil

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prowl-ci/prowl/internal/gitserve"
)

// GitRepo is a real repository made for a test: a bare repository under Root, served over HTTP by
// git's own git-http-backend and reachable over file:// too.
type GitRepo struct {
	t *testing.T
	// Root holds the bare repositories, as org/repo.git.
	Root string
	// Work is a working clone that tests commit in.
	Work string
	bare string
}

// NewGitRepo makes org/repo with one commit on main (a README).
func NewGitRepo(t *testing.T, org, repo string) *GitRepo {
	t.Helper()
	root := t.TempDir()
	g := &GitRepo{t: t, Root: root, bare: filepath.Join(root, org, repo+".git"), Work: filepath.Join(t.TempDir(), repo)}
	g.Git(root, "init", "-q", "--bare", "-b", "main", g.bare)
	g.Git(root, "init", "-q", "-b", "main", g.Work)
	g.Git(g.Work, "remote", "add", "origin", g.bare)
	g.Commit("README.md", "hello\n", "first commit")
	g.Git(g.Work, "push", "-q", "origin", "main")
	return g
}

// Git runs git in dir with a fixed identity and dates, and returns its trimmed output.
func (g *GitRepo) Git(dir string, args ...string) string {
	g.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.com", "GIT_COMMITTER_NAME=test",
		"GIT_COMMITTER_EMAIL=test@example.com", "GIT_AUTHOR_DATE=@1700000000 +0000", "GIT_COMMITTER_DATE=@1700000000 +0000")
	out, err := cmd.CombinedOutput()
	if err != nil {
		g.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Commit writes a file in the working clone and commits it; it returns the commit's SHA.
func (g *GitRepo) Commit(file, content, message string) string {
	g.t.Helper()
	p := filepath.Join(g.Work, file)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		g.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		g.t.Fatal(err)
	}
	g.Git(g.Work, "add", file)
	g.Git(g.Work, "commit", "-q", "-m", message)
	return g.Git(g.Work, "rev-parse", "HEAD")
}

// PullRequest commits a file on a branch off main and publishes it as refs/pull/<n>/head, as
// GitHub does; it returns the head SHA.
func (g *GitRepo) PullRequest(n, file, content string) string {
	g.t.Helper()
	g.Git(g.Work, "checkout", "-q", "-b", "pr-"+n, "main")
	sha := g.Commit(file, content, "pull request "+n)
	g.Git(g.Work, "push", "-q", "origin", "HEAD:refs/pull/"+n+"/head")
	g.Git(g.Work, "checkout", "-q", "main")
	return sha
}

// FileURL is the repository's file:// clone URL.
func (g *GitRepo) FileURL() string { return "file://" + g.bare }

// ServeHTTP serves the bare repositories through git-http-backend (Debian's git ships it) and
// returns the repository's clone URL.
func (g *GitRepo) ServeHTTP() string {
	g.t.Helper()
	return g.ServeHTTPBehind(nil)
}

// ServeHTTPBehind is ServeHTTP with a gate in front of git-http-backend (to check credentials):
// gate returns false when it has answered the request itself.
func (g *GitRepo) ServeHTTPBehind(gate func(http.ResponseWriter, *http.Request) bool) string {
	g.t.Helper()
	h, err := gitserve.Handler(g.Root)
	if err != nil {
		g.t.Skipf("skipping: %v", err)
	}
	if gate != nil {
		backendHandler := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if gate(w, r) {
				backendHandler.ServeHTTP(w, r)
			}
		})
	}
	srv := httptest.NewServer(h)
	g.t.Cleanup(srv.Close)
	rel, err := filepath.Rel(g.Root, g.bare)
	if err != nil {
		g.t.Fatal(err)
	}
	return srv.URL + "/" + filepath.ToSlash(rel)
}

// BuildBinary builds one of the repository's commands (e.g. "./cmd/entrypoint") statically into
// a temporary directory and returns its path.
func BuildBinary(t *testing.T, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	return out
}
