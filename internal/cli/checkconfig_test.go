package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prowl-ci/prowl/internal/testutil"
)

func run(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = Execute(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCheckConfigTestInfra(t *testing.T) {
	t.Parallel()
	root := testutil.SharedTestdata(t, "prow-config", "test-infra", "config")
	code, stdout, stderr := run("checkconfig", "--config-path", filepath.Join(root, "prow", "config.yaml"), "--job-config-path", filepath.Join(root, "jobs"))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if last := lines[len(lines)-1]; last != "1335 periodics, 2261 presubmits, 253 postsubmits" {
		t.Errorf("last line %q", last)
	}
}

func TestCheckConfigExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("periodics:\n- name: a\n  spec: {containers: [{image: a, command: [x]}]}\n- name: b c\n  interval: 1h\n  spec: {containers: [{image: a, command: [x]}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run("checkconfig", "--job-config-path", bad)
	if code != 1 || stdout != "" {
		t.Errorf("invalid config: exit %d, stdout %q", code, stdout)
	}
	errLines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(errLines) != 3 || !strings.HasPrefix(errLines[0], "error: "+bad+":2: job \"a\": interval:") || !strings.HasPrefix(errLines[1], "error: "+bad+":4: job \"b c\": name:") {
		t.Errorf("stderr:\n%s", stderr)
	}
	for _, args := range [][]string{{"checkconfig"}, {"checkconfig", "--bogus"}, {"checkconfig", "extra-arg", "--job-config-path", bad}, {"no-such-command"}} {
		if code, _, stderr := run(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)\n%s", args, code, stderr)
		}
	}
	if code, _, stderr := run("checkconfig", "--job-config-path", filepath.Join(dir, "missing")); code != 1 || !strings.Contains(stderr, "missing") {
		t.Errorf("missing path: exit %d %q", code, stderr)
	}
}

func TestHelpListsSubcommands(t *testing.T) {
	t.Parallel()
	code, stdout, _ := run("--help")
	if code != 0 || !strings.Contains(stdout, "checkconfig") {
		t.Errorf("exit %d\n%s", code, stdout)
	}
}
