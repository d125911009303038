package clonerefs

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/podutils/metadata"
	"github.com/prowl-ci/prowl/internal/podutils/options"
	"github.com/prowl-ci/prowl/internal/testutil"
)

func clone(t *testing.T, refs ...prowv1.Refs) (string, []metadata.CloneRecord) {
	t.Helper()
	return cloneWith(t, options.CloneRefs{}, refs...)
}

// cloneWith runs clonerefs with o's credentials and returns the source root and the records.
func cloneWith(t *testing.T, o options.CloneRefs, refs ...prowv1.Refs) (string, []metadata.CloneRecord) {
	t.Helper()
	root := t.TempDir()
	o.SrcRoot, o.Log, o.GitRefs = root, filepath.Join(root, "logs", "clone.json"), refs
	if err := Run(context.Background(), &o); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(o.Log)
	if err != nil {
		t.Fatal(err)
	}
	var records []metadata.CloneRecord
	if err := json.Unmarshal(raw, &records); err != nil {
		t.Fatal(err)
	}
	return root, records
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestCloneOverHTTP(t *testing.T) {
	t.Parallel()
	repo := testutil.NewGitRepo(t, "org", "repo")
	base := repo.Git(repo.Work, "rev-parse", "main")
	pr1 := repo.PullRequest("1", "one.txt", "one\n")
	pr2 := repo.PullRequest("2", "two.txt", "two\n")
	url := repo.ServeHTTP()

	for _, tc := range []struct {
		name  string
		pulls []prowv1.Pull
		files []string
	}{
		{"base only", nil, []string{"README.md"}},
		{"one pull request", []prowv1.Pull{{Number: 1, SHA: pr1}}, []string{"README.md", "one.txt"}},
		{"two pull requests", []prowv1.Pull{{Number: 1, SHA: pr1}, {Number: 2, SHA: pr2}}, []string{"README.md", "one.txt", "two.txt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			refs := prowv1.Refs{Org: "org", Repo: "repo", BaseRef: "main", BaseSHA: base, CloneURI: url, Pulls: tc.pulls}
			root, records := clone(t, refs)
			if len(records) != 1 || records[0].Failed {
				t.Fatalf("records: %+v", records)
			}
			dir := filepath.Join(root, "src", "github.com", "org", "repo")
			for _, f := range tc.files {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("%s missing from the checkout: %v", f, err)
				}
			}
			head := git(t, dir, "rev-parse", "HEAD")
			if records[0].FinalSHA != head {
				t.Errorf("final_sha %s, HEAD %s", records[0].FinalSHA, head)
			}
			if branch := git(t, dir, "rev-parse", "--abbrev-ref", "HEAD"); branch != "main" {
				t.Errorf("on branch %s, want main", branch)
			}
			parents := strings.Fields(git(t, dir, "log", "-1", "--format=%P"))
			if want := min(len(tc.pulls), 1) + 1; len(tc.pulls) > 0 && len(parents) != want {
				t.Errorf("HEAD has %d parents; want a --no-ff merge", len(parents))
			}
			// The same refs merge to the same SHA every time.
			if len(tc.pulls) > 0 {
				_, again := clone(t, refs)
				if again[0].FinalSHA != head {
					t.Errorf("merge is not reproducible: %s then %s", head, again[0].FinalSHA)
				}
			}
		})
	}
}

func TestCloneOverFileWithDepthAndAlias(t *testing.T) {
	t.Parallel()
	repo := testutil.NewGitRepo(t, "org", "repo")
	repo.Commit("second.txt", "2\n", "second")
	repo.Git(repo.Work, "push", "-q", "origin", "main")
	root, records := clone(t, prowv1.Refs{Org: "org", Repo: "repo", BaseRef: "main", CloneURI: repo.FileURL(), CloneDepth: 1, PathAlias: "example.com/repo"})
	if records[0].Failed {
		t.Fatalf("failed: %+v", records[0])
	}
	dir := filepath.Join(root, "src", "example.com", "repo")
	if shallow := git(t, dir, "rev-parse", "--is-shallow-repository"); shallow != "true" {
		t.Errorf("depth 1 clone is not shallow")
	}
	if n := git(t, dir, "rev-list", "--count", "HEAD"); n != "1" {
		t.Errorf("depth 1 clone has %s commits", n)
	}
}

func TestMissingRefIsRecordedAsFailed(t *testing.T) {
	t.Parallel()
	repo := testutil.NewGitRepo(t, "org", "repo")
	_, records := clone(t,
		prowv1.Refs{Org: "org", Repo: "repo", BaseRef: "main", CloneURI: repo.FileURL(), Pulls: []prowv1.Pull{{Number: 9}}},
		prowv1.Refs{Org: "org", Repo: "other", BaseRef: "main", CloneURI: repo.FileURL()},
	)
	if !records[0].Failed {
		t.Errorf("a missing pull request was not recorded as failed: %+v", records[0])
	}
	if records[1].Failed || records[1].FinalSHA == "" {
		t.Errorf("the other repository, cloned in parallel, should have succeeded: %+v", records[1])
	}
	last := records[0].Commands[len(records[0].Commands)-1]
	if !strings.Contains(last.Error, "fetch") {
		t.Errorf("the failure does not say what failed: %+v", last)
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCloneWithOAuthTokenAndCookie(t *testing.T) {
	t.Parallel()
	repo := testutil.NewGitRepo(t, "org", "repo")
	pr := repo.PullRequest("1", "one.txt", "one\n")
	const token, cookie = "s3cr3t-t0ken", "abc123"
	tokenURL := repo.ServeHTTPBehind(func(w http.ResponseWriter, r *http.Request) bool {
		if user, pass, ok := r.BasicAuth(); !ok || user == "" || pass != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "token required", http.StatusUnauthorized)
			return false
		}
		return true
	})
	cookieURL := repo.ServeHTTPBehind(func(w http.ResponseWriter, r *http.Request) bool {
		if c, err := r.Cookie("o"); err != nil || c.Value != cookie {
			http.Error(w, "cookie required", http.StatusForbidden)
			return false
		}
		return true
	})
	u, _ := url.Parse(cookieURL)
	// Netscape cookie file, as curl reads it: domain, subdomains, path, secure, expiry, name, value.
	cookies := writeFile(t, strings.Join([]string{u.Hostname(), "FALSE", "/", "FALSE", "0", "o", cookie}, "\t")+"\n")
	refs := func(uri string) prowv1.Refs {
		return prowv1.Refs{Org: "org", Repo: "repo", BaseRef: "main", CloneURI: uri, Pulls: []prowv1.Pull{{Number: 1, SHA: pr}}}
	}
	for _, tc := range []struct {
		name string
		o    options.CloneRefs
		uri  string
		ok   bool
	}{
		{"token accepted", options.CloneRefs{OauthTokenFile: writeFile(t, token+"\n")}, tokenURL, true},
		{"no token", options.CloneRefs{}, tokenURL, false},
		{"wrong token", options.CloneRefs{OauthTokenFile: writeFile(t, "nope")}, tokenURL, false},
		{"cookie accepted", options.CloneRefs{CookiePath: cookies}, cookieURL, true},
		{"no cookie", options.CloneRefs{}, cookieURL, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, records := cloneWith(t, tc.o, refs(tc.uri))
			if records[0].Failed == tc.ok {
				t.Fatalf("failed=%v, want %v: %+v", records[0].Failed, !tc.ok, records[0].Commands)
			}
			raw, _ := json.Marshal(records)
			if strings.Contains(string(raw), token) {
				t.Errorf("the clone records show the token: %s", raw)
			}
		})
	}
}

func TestCloneOverSSHWithHostFingerprints(t *testing.T) {
	t.Parallel()
	repo := testutil.NewGitRepo(t, "org", "repo")
	pr := repo.PullRequest("1", "one.txt", "one\n")
	srv := repo.ServeSSH()
	other := repo.ServeSSH() // another host key: a fingerprint that does not match srv
	refs := prowv1.Refs{Org: "org", Repo: "repo", BaseRef: "main", CloneURI: srv.URL, Pulls: []prowv1.Pull{{Number: 1, SHA: pr}}}
	keyDir := filepath.Dir(srv.ClientKey) // a key secret mounts a directory
	host, _, _ := strings.Cut(srv.KnownHost, " ")
	_, otherKey, _ := strings.Cut(other.KnownHost, " ")
	wrongKey := host + " " + otherKey // srv's address with another host's key
	for _, tc := range []struct {
		name string
		o    options.CloneRefs
		ok   bool
	}{
		{"key and fingerprint", options.CloneRefs{KeyFiles: []string{keyDir}, HostFingerprints: []string{srv.KnownHost}}, true},
		{"key file, no fingerprints", options.CloneRefs{KeyFiles: []string{srv.ClientKey}}, true},
		{"wrong fingerprint", options.CloneRefs{KeyFiles: []string{keyDir}, HostFingerprints: []string{wrongKey}}, false},
		{"key not authorized", options.CloneRefs{KeyFiles: []string{other.ClientKey}, HostFingerprints: []string{srv.KnownHost}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root, records := cloneWith(t, tc.o, refs)
			if records[0].Failed == tc.ok {
				t.Fatalf("failed=%v, want %v: %+v", records[0].Failed, !tc.ok, records[0].Commands)
			}
			if tc.ok {
				if _, err := os.Stat(filepath.Join(root, "src", "github.com", "org", "repo", "one.txt")); err != nil {
					t.Errorf("the pull request is not merged: %v", err)
				}
			}
		})
	}
}

// partialCloneRepo is a repository served by git-http-backend that allows partial clones, as
// GitHub does, with history (a file changed twice) and files in several directories.
func partialCloneRepo(t *testing.T) (*testutil.GitRepo, string) {
	t.Helper()
	repo := testutil.NewGitRepo(t, "org", "repo")
	repo.Commit("docs/guide.md", "first draft\n", "docs")
	repo.Commit("docs/guide.md", "second draft\n", "docs again")
	repo.Commit("pkg/op/op.go", "package op\n", "code")
	repo.Commit("Makefile", "all:\n", "build")
	repo.Git(repo.Work, "push", "-q", "origin", "main")
	repo.Git(repo.Root, "-C", filepath.Join(repo.Root, "org", "repo.git"), "config", "uploadpack.allowFilter", "true")
	return repo, repo.ServeHTTP()
}

// missingObjects lists the objects of every commit in the clone that are not in it.
func missingObjects(t *testing.T, dir string) []string {
	t.Helper()
	var missing []string
	for _, line := range strings.Split(git(t, dir, "rev-list", "--objects", "--missing=print", "--all"), "\n") {
		if strings.HasPrefix(line, "?") {
			missing = append(missing, line[1:])
		}
	}
	return missing
}

// TestBloblessFetch: with blobless_fetch clonerefs fetches with --filter=blob:none: the checkout
// has every file, and the blobs only older commits need were never fetched. Without it, the
// clone is complete.
func TestBloblessFetch(t *testing.T) {
	t.Parallel()
	repo, url := partialCloneRepo(t)
	pr := repo.PullRequest("1", "pr.txt", "from the pull request\n")
	firstDraft := repo.Git(repo.Work, "rev-parse", "main~3:docs/guide.md")
	yes := true
	for _, tc := range []struct {
		name     string
		blobless *bool
	}{{"blobless", &yes}, {"full", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			refs := prowv1.Refs{Org: "org", Repo: "repo", BaseRef: "main", CloneURI: url, BloblessFetch: tc.blobless, Pulls: []prowv1.Pull{{Number: 1, SHA: pr}}}
			root, records := clone(t, refs)
			if len(records) != 1 || records[0].Failed {
				t.Fatalf("records: %+v", records)
			}
			dir := filepath.Join(root, "src", "github.com", "org", "repo")
			for _, f := range []string{"README.md", "docs/guide.md", "pkg/op/op.go", "Makefile", "pr.txt"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("%s missing from the checkout: %v", f, err)
				}
			}
			var filtered bool
			for _, c := range records[0].Commands {
				filtered = filtered || (strings.HasPrefix(c.Command, "git fetch") && strings.Contains(c.Command, "--filter=blob:none"))
			}
			missing := missingObjects(t, dir)
			if tc.blobless != nil {
				if !filtered || !slices.Contains(missing, firstDraft) {
					t.Errorf("blobless: filtered fetch %v, missing %v; want the first draft's blob %s missing", filtered, missing, firstDraft)
				}
			} else if filtered || len(missing) > 0 {
				t.Errorf("full clone: filtered fetch %v, missing %v", filtered, missing)
			}
		})
	}
}

// TestSparseCheckout: with sparse_checkout_files only those paths (and, in git's cone mode, the
// files at the top) are checked out, with no blob of the others fetched and no submodules.
func TestSparseCheckout(t *testing.T) {
	t.Parallel()
	repo, url := partialCloneRepo(t)
	base := repo.Git(repo.Work, "rev-parse", "main")
	guide := repo.Git(repo.Work, "rev-parse", "main:docs/guide.md")
	refs := prowv1.Refs{Org: "org", Repo: "repo", BaseRef: "main", BaseSHA: base, CloneURI: url, SparseCheckoutFiles: []string{"pkg/op"}}
	root, records := clone(t, refs)
	if len(records) != 1 || records[0].Failed || records[0].FinalSHA != base {
		t.Fatalf("records: %+v", records)
	}
	dir := filepath.Join(root, "src", "github.com", "org", "repo")
	for _, f := range []string{"pkg/op/op.go", "Makefile", "README.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s missing from the sparse checkout: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "docs")); !os.IsNotExist(err) {
		t.Errorf("docs/ is checked out: %v", err)
	}
	if missing := missingObjects(t, dir); !slices.Contains(missing, guide) {
		t.Errorf("the blob of docs/guide.md was fetched; missing %v", missing)
	}
	for _, c := range records[0].Commands {
		if strings.Contains(c.Command, "submodule") {
			t.Errorf("a sparse checkout ran %q", c.Command)
		}
	}
}
