package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestRerunAuthConfigsExclusive checks Prow's rule that deck.rerun_auth_configs and
// deck.default_rerun_auth_configs are not both set: loading (and so checkconfig) refuses such a
// config, naming the file, line and field; either alone, or one of them empty, loads.
func TestRerunAuthConfigsExclusive(t *testing.T) {
	t.Parallel()
	const mapped = "  rerun_auth_configs:\n    '*': {github_users: [alice]}\n"
	const sliced = "  default_rerun_auth_configs:\n  - repo: org/repo\n    rerun_auth_configs: {allow_anyone: true}\n"
	for _, tc := range []struct {
		name, deck string
		wantLine   int // 0: loads
	}{
		{"both", "deck:\n" + mapped + sliced, 4},
		{"both, the other way round", "deck:\n" + sliced + mapped, 2},
		{"only the map", "deck:\n" + mapped, 0},
		{"only the list", "deck:\n" + sliced, 0},
		{"an empty map beside the list", "deck:\n  rerun_auth_configs: {}\n" + sliced, 0},
		{"an empty list beside the map", "deck:\n  default_rerun_auth_configs: []\n" + mapped, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTree(t, map[string]string{"config.yaml": tc.deck})
			file := filepath.Join(dir, "config.yaml")
			_, _, err := Load(Options{ConfigPath: file, Strict: true})
			if tc.wantLine == 0 {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			var errs Errors
			if !errors.As(err, &errs) || len(errs) != 1 {
				t.Fatalf("want one error, got %v", err)
			}
			p := errs[0]
			if p.File != file || p.Line != tc.wantLine || p.Field != "deck.default_rerun_auth_configs" ||
				!strings.Contains(p.Msg, "mutually exclusive") || !strings.Contains(p.Msg, "- repo: KEY") {
				t.Errorf("error %q at %s:%d field %q; want %s:%d deck.default_rerun_auth_configs, saying what to do", p.Msg, p.File, p.Line, p.Field, file, tc.wantLine)
			}
		})
	}
}
