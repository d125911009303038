package clonerefs

import (
	"context"
	"encoding/json"
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
	root := t.TempDir()
	o := &options.CloneRefs{SrcRoot: root, Log: filepath.Join(root, "logs", "clone.json"), GitRefs: refs}
	if err := Run(context.Background(), o); err != nil {
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
