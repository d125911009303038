package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// prowl run under a pod utility's name runs that utility (the entrypoint's copy of prowl at
// /tools/entrypoint); under its own name, its arguments are the subcommand's.
func TestCommandLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ argv, want []string }{
		{[]string{"/usr/local/bin/prowl", "up"}, []string{"up"}},
		{[]string{"/tools/entrypoint", "--options", "{}"}, []string{"entrypoint", "--options", "{}"}},
		{[]string{"sidecar"}, []string{"sidecar"}},
		{nil, nil},
	} {
		if got := CommandLine(tc.argv); !slices.Equal(got, tc.want) {
			t.Errorf("CommandLine(%q) = %q, want %q", tc.argv, got, tc.want)
		}
	}
}

// `prowl entrypoint --copy-mode-only DEST` is place-entrypoint, as the small binary's; a utility's
// failure is its exit code, with its own message.
func TestPodUtilityCommands(t *testing.T) {
	t.Parallel()
	dest := filepath.Join(t.TempDir(), "tools", "entrypoint")
	if code, _, stderr := run("entrypoint", "--copy-mode-only", dest); code != 0 {
		t.Fatalf("prowl entrypoint --copy-mode-only: exit %d\n%s", code, stderr)
	}
	if info, err := os.Stat(dest); err != nil || info.Mode()&0o111 == 0 {
		t.Errorf("the copy at %s: %v", dest, err)
	}
	code, _, stderr := run("clonerefs", "--no-such-key=1")
	if code != 1 || !strings.Contains(stderr, "clonerefs:") {
		t.Errorf("prowl clonerefs with a bad option: exit %d, %q; want 1 and clonerefs's message", code, stderr)
	}
}
