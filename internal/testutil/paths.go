// Package testutil holds what Prowl's tests share: where the repository and ../shared/testdata are,
// and a real control plane (envtest) with the ProwJob CRD installed.
package testutil

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// RepoRoot is the directory that holds Prowl's go.mod.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SharedTestdata returns the path of rel under ../shared/testdata (Prow's fixtures and real configs,
// which are read in place and never copied), or skips the test, saying why, where it is absent, as in
// a user's own clone. $PROWL_SHARED_TESTDATA names another place for it (a git worktree lives one
// directory deeper than the clone that ../shared sits beside).
func SharedTestdata(tb testing.TB, rel ...string) string {
	tb.Helper()
	p := filepath.Join(append([]string{SharedTestdataPath()}, rel...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("skipping: %s is absent (../shared/testdata comes with the team's workspace, not with a clone)", p)
	}
	return p
}

// SharedTestdataPath is where ../shared/testdata is looked for: $PROWL_SHARED_TESTDATA, else
// beside the repository.
func SharedTestdataPath() string {
	if env := os.Getenv("PROWL_SHARED_TESTDATA"); env != "" {
		return env
	}
	return filepath.Join(RepoRoot(), "..", "shared", "testdata")
}

// Seed returns the path of one of the seed's files, copied into testdata/seed.
func Seed(name string) string {
	return filepath.Join(RepoRoot(), "testdata", "seed", name)
}
