package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The example repository is made once, and its own test passes on main.
func TestInitRepo(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	bare, err := InitRepo(root)
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "hello")
	if out, err := exec.Command("git", "clone", "-q", bare, work).CombinedOutput(); err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	cmd := exec.Command("./test.sh")
	cmd.Dir = work
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PASS: Hello, Prowl!") {
		t.Fatalf("test.sh: %v\n%s", err, out)
	}
	// A second call keeps what was pushed since.
	marker := filepath.Join(bare, "refs", "pull")
	if err := os.MkdirAll(marker, 0o755); err != nil {
		t.Fatal(err)
	}
	if again, err := InitRepo(root); err != nil || again != bare {
		t.Fatalf("again: %s, %v", again, err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("InitRepo remade an existing repository: %v", err)
	}
}
