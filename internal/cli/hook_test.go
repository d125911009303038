package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hook and crier refuse to start without what they need, saying what to pass (exit 2: usage).
func TestHookAndCrierUsage(t *testing.T) {
	t.Parallel()
	// A token file that exists: a missing one is reported first, naming its Secret (mounts.go).
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"hook", "--config-path", "../../examples/config.yaml"}, "--github-token-path"},
		{[]string{"hook", "--config-path", "../../examples/config.yaml", "--github-token-path", token}, "--hmac-secret-file"},
		{[]string{"crier", "--config-path", "../../examples/config.yaml"}, "--github-token-path"},
	} {
		code, _, stderr := run(tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 naming %s", tc.args, code, stderr, tc.want)
		}
	}
}
