package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var prowlBin = struct {
	once sync.Once
	path string
	err  string
}{}

// ProwlBinary builds ./cmd/prowl once per test process and returns its path. The local node
// re-runs prowl to set up each container, so tests that run the real node need the binary; a plain
// build reuses what `go test` already compiled.
func ProwlBinary(t *testing.T) string {
	t.Helper()
	prowlBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "prowl-test-bin-")
		if err != nil {
			prowlBin.err = err.Error()
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "prowl"), "./cmd/prowl")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			prowlBin.err = err.Error() + "\n" + string(out)
			return
		}
		prowlBin.path = filepath.Join(dir, "prowl")
	})
	if prowlBin.path == "" {
		t.Fatalf("build prowl: %s", prowlBin.err)
	}
	return prowlBin.path
}
