// Package examples embeds the example config, which `prowl up` runs when given none: a prow config,
// the seed's echo-test periodic, and a presubmit and a postsubmit of a small example repository.
package examples

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Files holds config.yaml and jobs/. Their placeholders: PROWL_DATA_DIR (the data dir) and
// PROWL_GIT_URL (where the example repository is served).
//
//go:embed config.yaml jobs/*.yaml
var Files embed.FS

// repo holds the example repository's files.
//
//go:embed repo
var repo embed.FS

// RepoPath is the example repository's path under the served root, as org/repo.git.
const RepoPath = "prowl-example/hello.git"

// InitRepo makes the example repository, a bare repository with the files of repo/ committed on
// main, at root/RepoPath, unless it is there already (pull requests pushed to it are kept).
func InitRepo(root string) (string, error) {
	bare := filepath.Join(root, RepoPath)
	if _, err := os.Stat(filepath.Join(bare, "HEAD")); err == nil {
		return bare, nil
	}
	work, err := os.MkdirTemp("", "prowl-example-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	err = fs.WalkDir(repo, "repo", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := repo.ReadFile(p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, ".sh") {
			mode = 0o755
		}
		target := filepath.Join(work, strings.TrimPrefix(p, "repo/"))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, data, mode)
	})
	if err != nil {
		return "", err
	}
	git := func(dir string, args ...string) error {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Prowl", "GIT_AUTHOR_EMAIL=prowl@example.com",
			"GIT_COMMITTER_NAME=Prowl", "GIT_COMMITTER_EMAIL=prowl@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("make the example repository: git %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(bare), 0o755); err != nil {
		return "", err
	}
	for _, step := range [][]string{
		{"init", "-q", "-b", "main"}, {"add", "."}, {"commit", "-q", "-m", "The example repository"},
		{"init", "-q", "--bare", "-b", "main", bare}, {"push", "-q", bare, "main"},
	} {
		if err := git(work, step...); err != nil {
			return "", err
		}
	}
	return bare, nil
}
