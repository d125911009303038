package forge

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// zeroSHA is what git and GitHub write for "no commit" (a branch created or deleted).
const zeroSHA = "0000000000000000000000000000000000000000"

// git runs git in the bare repository dir and returns its trimmed output.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s in %s: %w: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// branchSHA is the commit a branch points at, or "" when there is no such branch.
func branchSHA(ctx context.Context, dir, branch string) string {
	sha, _ := resolve(ctx, dir, "refs/heads/"+branch) // "" on error
	return sha
}

// commitExists says whether sha names a commit of the repository.
func commitExists(ctx context.Context, dir, sha string) bool {
	_, err := git(ctx, dir, "cat-file", "-e", sha+"^{commit}")
	return err == nil
}

// resolve turns a SHA, branch or tag into a commit SHA.
func resolve(ctx context.Context, dir, ref string) (string, error) {
	return git(ctx, dir, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
}

// changedFile is one file a pull request or commit changes.
type changedFile struct {
	Name, Previous, Status string // Status: added, modified, removed, renamed
}

// parseNameStatus reads `git diff --name-status` output.
func parseNameStatus(out string) []changedFile {
	var files []changedFile
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 2 || f[0] == "" {
			continue
		}
		switch f[0][0] {
		case 'A':
			files = append(files, changedFile{Name: f[1], Status: "added"})
		case 'D':
			files = append(files, changedFile{Name: f[1], Status: "removed"})
		case 'R':
			if len(f) == 3 {
				files = append(files, changedFile{Name: f[2], Previous: f[1], Status: "renamed"})
			}
		default:
			files = append(files, changedFile{Name: f[1], Status: "modified"})
		}
	}
	return files
}

// pullFiles are the files a pull request changes: head against its merge base with base, as
// GitHub's "Files changed" shows them.
func pullFiles(ctx context.Context, dir, baseSHA, headSHA string) ([]changedFile, error) {
	out, err := git(ctx, dir, "diff", "--name-status", "-M", baseSHA+"..."+headSHA)
	if err != nil {
		return nil, err
	}
	return parseNameStatus(out), nil
}

// pushedCommit is one commit a push brought, with the files it changed.
type pushedCommit struct {
	SHA, Message, AuthorName, AuthorEmail string
	Time                                  time.Time
	Added, Removed, Modified              []string
}

// pushedCommits are the commits a push of ref from before to after brought, oldest first: those
// after has and before had not, or for a new branch those no other branch has.
func pushedCommits(ctx context.Context, dir, ref, before, after string) ([]pushedCommit, error) {
	args := []string{"rev-list", "--reverse", after}
	if before != zeroSHA {
		args = append(args, "^"+before)
	} else {
		others, err := git(ctx, dir, "for-each-ref", "--format=%(refname)", "refs/heads")
		if err != nil {
			return nil, err
		}
		for _, r := range strings.Fields(others) {
			if r != ref {
				args = append(args, "^"+r)
			}
		}
	}
	out, err := git(ctx, dir, args...)
	if err != nil {
		return nil, err
	}
	var commits []pushedCommit
	for _, sha := range strings.Fields(out) {
		c, err := describeCommit(ctx, dir, sha)
		if err != nil {
			return nil, err
		}
		commits = append(commits, c)
	}
	return commits, nil
}

// describeCommit reads a commit's message, author and changed files (against its first parent).
func describeCommit(ctx context.Context, dir, sha string) (pushedCommit, error) {
	meta, err := git(ctx, dir, "show", "-s", "--format=%an%x00%ae%x00%at%x00%B", sha)
	if err != nil {
		return pushedCommit{}, err
	}
	f := strings.SplitN(meta, "\x00", 4)
	if len(f) != 4 {
		return pushedCommit{}, fmt.Errorf("git show %s: unexpected output %q", sha, meta)
	}
	var unix int64
	_, _ = fmt.Sscan(f[2], &unix)
	c := pushedCommit{SHA: sha, AuthorName: f[0], AuthorEmail: f[1], Time: time.Unix(unix, 0).UTC(), Message: strings.TrimSpace(f[3])}
	out, err := git(ctx, dir, "diff-tree", "-r", "--no-commit-id", "--name-status", "--root", "-m", "--first-parent", sha)
	if err != nil {
		return pushedCommit{}, err
	}
	for _, file := range parseNameStatus(out) {
		switch file.Status {
		case "added":
			c.Added = append(c.Added, file.Name)
		case "removed":
			c.Removed = append(c.Removed, file.Name)
		default:
			c.Modified = append(c.Modified, file.Name)
		}
	}
	return c, nil
}

// postReceive is the hook every served repository runs after a push (over HTTP or to its path):
// it tells the running local GitHub what changed, which sends Hook the push event.
const postReceive = `#!/bin/sh
# Written by prowl up: tells the local GitHub what was pushed, so that Hook hears the push event.
exec %q repo pushed --data-dir %q %q
`

// prepareRepo lets a bare repository be pushed to over HTTP and installs its post-receive hook,
// which runs self (the prowl binary).
func prepareRepo(ctx context.Context, dir, self, dataDir, orgRepo string) error {
	if _, err := git(ctx, dir, "config", "http.receivepack", "true"); err != nil {
		return err
	}
	hook := fmt.Sprintf(postReceive, self, dataDir, orgRepo)
	if err := os.MkdirAll(filepath.Join(dir, "hooks"), 0o755); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, "hooks", "post-receive"), []byte(hook), 0o755)
}

// servedRepos lists org/repo for every bare repository under root (root/org/repo.git).
func servedRepos(root string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(root, "*", "*.git", "HEAD"))
	if err != nil {
		return nil, err
	}
	var repos []string
	for _, m := range matches {
		dir := filepath.Dir(m)
		repos = append(repos, filepath.Base(filepath.Dir(dir))+"/"+strings.TrimSuffix(filepath.Base(dir), ".git"))
	}
	slices.Sort(repos)
	return repos, nil
}
