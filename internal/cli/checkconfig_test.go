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

// TestCheckConfigWarningsFlags: warnings carry Prow's names, --warnings and --exclude-warning
// select them, --strict makes those shown errors, and unknown names are usage errors.
func TestCheckConfigWarningsFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jobs := filepath.Join(dir, "jobs.yaml")
	long := strings.Repeat("x", 64)
	content := "periodics:\n- name: " + long + "\n  interval: 1h\n  decorate: false\n  retry: {attempts: 2, interval: 5m}\n  spec: {containers: [{image: a, command: [x]}]}\n"
	if err := os.WriteFile(jobs, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run("checkconfig", "--job-config-path", jobs)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{
		jobs + ":2: job \"" + long + "\": name: is 64 characters; a job name must be no more than 63 to fit a label value [long-job-names]",
		jobs + ":4: job \"" + long + "\": decorate: the job runs on kubernetes without the pod utilities",
		jobs + ":5: job \"" + long + "\": retry: is kept but ignored: Prowl does not retry failed periodics yet",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	code, _, stderr = run("checkconfig", "--job-config-path", jobs, "--exclude-warning", "long-job-names", "--exclude-warning", "non-decorated-jobs", "--exclude-warning", "ignored-fields")
	if code != 0 || strings.Contains(stderr, "warning:") {
		t.Errorf("all excluded: exit %d\n%s", code, stderr)
	}
	code, _, stderr = run("checkconfig", "--job-config-path", jobs, "--warnings", "non-decorated-jobs")
	if code != 0 || strings.Count(stderr, "warning:") != 1 || !strings.Contains(stderr, "[non-decorated-jobs]") {
		t.Errorf("--warnings non-decorated-jobs: exit %d\n%s", code, stderr)
	}
	if code, _, stderr = run("checkconfig", "--job-config-path", jobs, "--warnings", "long-job-names", "--strict"); code != 1 || !strings.Contains(stderr, "--strict makes them errors") {
		t.Errorf("--strict: exit %d\n%s", code, stderr)
	}
	if code, _, stderr = run("checkconfig", "--job-config-path", jobs, "--warnings", "mismatched-tide", "--warnings", "required-job-annotations", "--required-job-annotations", "owner"); code != 0 || !strings.Contains(stderr, `lacks the required annotation "owner"`) {
		t.Errorf("Prow's unchecked warning names are accepted and --required-job-annotations checks: exit %d\n%s", code, stderr)
	}
	for _, args := range [][]string{{"--warnings", "no-such-warning"}, {"--exclude-warning", "nope"}, {"--prow-yaml-path", ".prow.yaml"}} {
		if code, _, stderr := run(append([]string{"checkconfig", "--job-config-path", jobs}, args...)...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, stderr)
		}
	}
}

// TestCheckConfigPluginConfig: --plugin-config validates plugins.yaml with every error at once,
// naming file and line, and checks that repositories with jobs have the trigger plugin.
func TestCheckConfigPluginConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jobs := filepath.Join(dir, "jobs.yaml")
	pluginsYAML := filepath.Join(dir, "plugins.yaml")
	if err := os.WriteFile(jobs, []byte("presubmits:\n  org/repo:\n  - name: unit\n    decorate: false\n    spec: {containers: [{image: a, command: [x]}]}\n  other/repo:\n  - name: unit\n    decorate: false\n    spec: {containers: [{image: a, command: [x]}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pluginsYAML, []byte("plugins:\n  org:\n    plugins: [trigger]\n  org/repo:\n    plugins: [trigger, lgtmm]\nexternal_plugins:\n  org:\n  - name: needs-rebase\n  - name: needs-rebase\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run("checkconfig", "--job-config-path", jobs, "--plugin-config", pluginsYAML, "--exclude-warning", "non-decorated-jobs", "--prow-yaml-repo-name", "org/repo")
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{
		"error: " + pluginsYAML + `:4: plugins.org/repo: plugin "trigger" is enabled for org and again for org/repo`,
		"error: " + pluginsYAML + `:7: external_plugins.org: external plugin "needs-rebase" is listed twice`,
		"warning: " + pluginsYAML + `:4: plugins.org/repo: plugin "lgtmm" is not one of Prow's plugins`,
		"warning: " + jobs + ":6: other/repo: has presubmits or postsubmits but the trigger plugin is not enabled",
		"note: Prowl does not read in-repo config (.prow.yaml) yet",
		"2 errors: the config is invalid",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// TestCheckConfigRerunAuthExclusive: checkconfig reports a config that sets both
// deck.rerun_auth_configs and deck.default_rerun_auth_configs, as Prow's does, naming the file,
// line and field.
func TestCheckConfigRerunAuthExclusive(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	text := "deck:\n  rerun_auth_configs:\n    '*': {github_users: [alice]}\n  default_rerun_auth_configs:\n  - repo: org/repo\n    rerun_auth_configs: {allow_anyone: true}\n"
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run("checkconfig", "--config-path", cfg)
	want := "error: " + cfg + ":4: deck.default_rerun_auth_configs: deck.rerun_auth_configs and deck.default_rerun_auth_configs are mutually exclusive"
	if code != 1 || stdout != "" || !strings.HasPrefix(stderr, want) {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant it to start %q", code, stdout, stderr, want)
	}
}
