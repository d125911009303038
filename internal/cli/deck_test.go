package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// deck refuses flags that cannot work, before it starts, saying what to pass.
func TestDeckUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	oauth := filepath.Join(dir, "oauth.yaml")
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(oauth, []byte("client_id: a\nclient_secret: b\nredirect_url: http://127.0.0.1:8080/github-login/redirect\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(short, []byte("c2hvcnQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"deck"}, 2, "--config-path"},
		{[]string{"deck", "--config-path", "../../examples/config.yaml", "--github-oauth-config-file", oauth}, 2, "needs --cookie-secret"},
		{[]string{"deck", "--config-path", "../../examples/config.yaml", "--cookie-secret", short}, 1, "5 bytes; it must be 32"},
		{[]string{"deck", "--config-path", "../../examples/config.yaml", "--github-host", "http://"}, 2, "--github-host"},
	} {
		code, _, stderr := run(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d naming %s", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}
