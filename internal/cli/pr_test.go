package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prowl-ci/prowl/internal/forge"
)

// startForge serves a local GitHub on dataDir as `prowl up` does (without Hook: the commands
// then warn that their events were not delivered).
func startForge(t *testing.T) string {
	t.Helper()
	dataDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var h http.Handler // set below, once the server knows its own URL
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(hs.Close)
	srv, err := forge.Open(ctx, forge.Options{DataDir: dataDir, URL: hs.URL, Self: "/bin/true", SeedOrg: "org", SeedUser: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if h, err = srv.Handler(ctx); err != nil {
		t.Fatal(err)
	}
	done, err := srv.Serving()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(done)
	return dataDir
}

// TestPRCommands: `prowl repo create --from` a directory, then `prowl pr open`, `comment`,
// `label`, `list`, `show`, `push` and `close` on the local GitHub, each naming what it did.
func TestPRCommands(t *testing.T) {
	t.Parallel()
	dataDir := startForge(t)
	src := t.TempDir()
	for name, content := range map[string]string{"README.md": "hi\n", "hello.sh": "echo hi\n"} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ok := func(want string, args ...string) string {
		t.Helper()
		code, stdout, stderr := run(append(args, "--data-dir", dataDir)...)
		if code != 0 || !regexp.MustCompile(want).MatchString(stdout) {
			t.Fatalf("prowl %s: exit %d, stdout %q (want %s), stderr %q", strings.Join(args, " "), code, stdout, want, stderr)
		}
		return stdout
	}
	ok(`created org/repo: clone or push http://\S+/org/repo\.git`, "repo", "create", "org/repo", "--from", src)
	bare := filepath.Join(forge.GitRoot(dataDir), "org", "repo.git")
	gitIn(t, bare, "branch", "feature", "main")
	ok(`opened org/repo#1 by mallory: http://\S+/org/repo/pull/1`, "pr", "open", "org/repo", "--head", "feature", "--author", "mallory", "--title", "Add <b>")
	ok(`org/repo#1: commented as bob`, "pr", "comment", "1", "/ok-to-test", "--as", "bob")
	ok(`org/repo#1: labelled ok-to-test`, "pr", "label", "1", "ok-to-test")
	ok(`org/repo#1\topen\tmallory\tfeature → main\tAdd <b>`, "pr", "list")
	show := ok(`(?s)org/repo#1 Add <b> \(open\).*author: mallory.*labels: ok-to-test.*statuses: pending.*comments: 1\n  #1 bob:\n    /ok-to-test`, "pr", "show", "1")
	if !strings.Contains(show, "head: feature "+gitIn(t, bare, "rev-parse", "feature")) {
		t.Errorf("show does not give the head's SHA:\n%s", show)
	}
	ok(`org/repo#1 is at `, "pr", "push", "1")
	ok(`org/repo#1: closed`, "pr", "close", "1")
	ok(`org/repo#1\tclosed`, "pr", "list")
	// Hook was not listening: each change says its event was not delivered.
	if _, _, stderr := run("pr", "comment", "1", "hi", "--data-dir", dataDir); !strings.Contains(stderr, "Hook did not get its event") {
		t.Errorf("no warning that the webhook was not delivered: %q", stderr)
	}
	if code, _, stderr := run("pr", "show", "7", "--data-dir", dataDir); code != 1 || !strings.Contains(stderr, "no pull request #7") {
		t.Errorf("an unknown pull request: exit %d %q", code, stderr)
	}
	if code, _, stderr := run("pr", "open", "org/repo", "--data-dir", dataDir); code != 2 || !strings.Contains(stderr, "--head is required") {
		t.Errorf("no --head: exit %d %q", code, stderr)
	}
}

// TestPRCommandsWithoutProwlUp: with no prowl up on the data dir, the commands say so and how to
// start it.
func TestPRCommandsWithoutProwlUp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, _, stderr := run("pr", "list", "--data-dir", dir)
	if code != 1 || !strings.Contains(stderr, "prowl up is not running here") || !strings.Contains(stderr, "prowl up --data-dir "+dir) {
		t.Errorf("exit %d %q", code, stderr)
	}
}

// gitIn runs git in dir and returns its trimmed output.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}
