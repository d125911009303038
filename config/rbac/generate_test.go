package rbac_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prowl-ci/prowl/config/rbac"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// TestRolesAreFresh runs controller-gen over each component's package and fails when the
// committed config/rbac/<component>/role.yaml differs: run `make generate`.
func TestRolesAreFresh(t *testing.T) {
	t.Parallel()
	root := testutil.RepoRoot()
	for component, pkg := range rbac.Components {
		t.Run(component, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command("go", "tool", "controller-gen", "rbac:roleName=prowl-"+component, "paths=./internal/"+pkg+"/...", "output:rbac:stdout")
			cmd.Dir = root
			cmd.Stderr = os.Stderr
			fresh, err := cmd.Output()
			if err != nil {
				t.Fatalf("controller-gen rbac for %s: %v", component, err)
			}
			path := filepath.Join("config/rbac", component, "role.yaml")
			committed, err := os.ReadFile(filepath.Join(root, path))
			if err != nil {
				t.Fatalf("%v: run `make generate`", err)
			}
			if diff := cmp.Diff(string(committed), string(fresh)); diff != "" {
				t.Errorf("%s is stale; run `make generate` (-committed +generated):\n%s", path, diff)
			}
		})
	}
}

// TestMakefileListsEveryComponent keeps the Makefile's RBAC_COMPONENTS and Components equal, so
// `make generate` writes every role this package's test checks.
func TestMakefileListsEveryComponent(t *testing.T) {
	t.Parallel()
	mk, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^RBAC_COMPONENTS :?= (.*)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("the Makefile has no RBAC_COMPONENTS line")
	}
	got := strings.Fields(string(m[1]))
	var want []string
	for c, p := range rbac.Components {
		want = append(want, c+"="+p)
	}
	sort.Strings(got)
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Makefile RBAC_COMPONENTS differs from rbac.Components (-Components +Makefile):\n%s", diff)
	}
}
