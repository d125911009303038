package clonerefs

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
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
