package plugins

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prowl-ci/prowl/internal/testutil"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(`plugins:
  org:
    plugins: [trigger, lgtm]
  org/repo:
    plugins: [trigger, sizee]
  org/excluded:
    plugins: [lgtm]
triggers:
- repos: [org]
- repos: [org, other]
external_plugins:
  org:
  - name: needs-rebase
  - name: needs-rebase
`))
	if err != nil {
		t.Fatal(err)
	}
	c.Plugins["org"] = OrgPlugins{Plugins: []string{"trigger", "lgtm"}, ExcludedRepos: []string{"excluded"}}
	errs, warnings := c.Validate()
	wantErrs := []Finding{
		{"plugins.org/repo", `plugin "trigger" is enabled for org and again for org/repo; remove one`},
		{"external_plugins.org", `external plugin "needs-rebase" is listed twice`},
	}
	if diff := cmp.Diff(wantErrs, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	wantWarnings := []Finding{
		{"plugins.org/repo", `plugin "sizee" is not one of Prow's plugins; check its spelling`},
		{"triggers", "org is in triggers[0] and triggers[1]; only the first is read, keep it in one"},
	}
	if diff := cmp.Diff(wantWarnings, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// TestValidateTestInfra: test-infra's plugins.yaml, which Prow accepts, has no error and names only
// Prow's plugins.
func TestValidateTestInfra(t *testing.T) {
	t.Parallel()
	c, err := Load(filepath.Join(testutil.SharedTestdata(t, "prow-config", "test-infra", "config", "prow"), "plugins.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if errs, warnings := c.Validate(); len(errs)+len(warnings) > 0 {
		t.Errorf("errors %v\nwarnings %v", errs, warnings)
	}
}
