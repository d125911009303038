package crd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prowl-ci/prowl/internal/testutil"
)

// TestGeneratedFilesAreFresh runs controller-gen (pinned in go.mod as a tool) and fails when the
// committed deepcopy code or CRD differ from what api/v1 generates: run `make generate`.
func TestGeneratedFilesAreFresh(t *testing.T) {
	t.Parallel()
	root := testutil.RepoRoot()
	for _, tc := range []struct{ generator, committed string }{
		{"object", "api/v1/zz_generated.deepcopy.go"},
		{"crd", "config/crd/prow.k8s.io_prowjobs.yaml"},
	} {
		t.Run(tc.generator, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command("go", "tool", "controller-gen", tc.generator, "paths=./api/...", "output:"+tc.generator+":stdout")
			cmd.Dir = root
			cmd.Stderr = os.Stderr
			fresh, err := cmd.Output()
			if err != nil {
				t.Fatalf("controller-gen %s: %v", tc.generator, err)
			}
			committed, err := os.ReadFile(filepath.Join(root, tc.committed))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(committed), string(fresh)); diff != "" {
				t.Errorf("%s is stale; run `make generate` (-committed +generated):\n%s", tc.committed, diff)
			}
		})
	}
}
