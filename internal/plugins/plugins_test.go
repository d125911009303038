package plugins

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prowl-ci/prowl/internal/testutil"
)

// Prow's own plugins.yaml (kubernetes/test-infra) loads, and its trigger settings read as Prow
// reads them.
func TestTestInfraPlugins(t *testing.T) {
	t.Parallel()
	c, err := Load(testutil.SharedTestdata(t, "prow-config", "test-infra", "config", "prow", "plugins.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Enabled("kubernetes", "kubernetes", "trigger") || !c.Enabled("google", "cadvisor", "trigger") {
		t.Error("trigger is enabled for kubernetes and google/cadvisor")
	}
	if c.Enabled("nobody", "nothing", "trigger") {
		t.Error("trigger enabled for an unconfigured org")
	}
	if tr := c.TriggerFor("kubernetes-sigs", "cluster-api"); !tr.OnlyOrgMembers || !tr.TriggerGitHubWorkflows {
		t.Errorf("kubernetes-sigs/cluster-api's entry (by repo): %+v", tr)
	}
	if tr := c.TriggerFor("kubernetes", "kubernetes"); !tr.OnlyOrgMembers || tr.TriggerGitHubWorkflows {
		t.Errorf("kubernetes's entry (by org): %+v", tr)
	}
	if tr := c.TriggerFor("google", "cadvisor"); tr.OnlyOrgMembers || tr.JoinOrgURL == "" {
		t.Errorf("google/cadvisor: %+v", tr)
	}
}

func TestFormsAndErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".yaml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := Load(write("plugins:\n  old: [trigger]\n  new:\n    plugins: [trigger]\n    excluded_repos: [skip]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Enabled("old", "x", "trigger") || !c.Enabled("new", "x", "trigger") || c.Enabled("new", "skip", "trigger") {
		t.Errorf("forms: %+v", c.Plugins)
	}
	if _, err := Load(write("triggers:\n- repos: [a/b/c]\n")); err == nil || !strings.Contains(err.Error(), "triggers[0].repos") {
		t.Errorf("a bad repo: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "--plugin-config") {
		t.Errorf("missing file: %v", err)
	}
}
