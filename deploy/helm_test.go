package deploy_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/prowl-ci/prowl/deploy"
	"github.com/prowl-ci/prowl/internal/testutil"
)

func byKey(objs []*unstructured.Unstructured) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, o := range objs {
		out[o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName()] = o.Object
	}
	return out
}

// TestChartMatchesKustomize renders the Helm chart with its default values and the kustomize
// base: the same objects, field for field.
func TestChartMatchesKustomize(t *testing.T) {
	t.Parallel()
	k, err := deploy.Kustomize(dir("base"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := deploy.Helm(dir("helm/prowl"), "prowl", "prow", nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(byKey(k), byKey(h)); diff != "" {
		t.Errorf("the chart differs from deploy/base; run `make generate` (hack/sync-chart.sh) (-kustomize +helm):\n%s", diff)
	}
}

// TestChartValues: the image values give the Deployments repository:tag@digest, and config
// values replace the chart's files.
func TestChartValues(t *testing.T) {
	t.Parallel()
	objs, err := deploy.Helm(dir("helm/prowl"), "prowl", "prow", map[string]any{
		"image":     map[string]any{"repository": "registry.example/prowl", "tag": "v1", "digest": "sha256:0123"},
		"jobConfig": map[string]any{"team.yaml": "periodics: []\n"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deployments(t, objs) {
		if got := d.Spec.Template.Spec.Containers[0].Image; got != "registry.example/prowl:v1@sha256:0123" {
			t.Errorf("%s runs %s", d.Name, got)
		}
	}
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" && o.GetName() == "job-config" {
			data, _, _ := unstructured.NestedStringMap(o.Object, "data")
			if diff := cmp.Diff(map[string]string{"team.yaml": "periodics: []\n"}, data); diff != "" {
				t.Errorf("job-config (-want +got):\n%s", diff)
			}
		}
	}
}

// TestChartCRDIsGenerated keeps the chart's crds/ equal to config/crd (`make generate`).
func TestChartCRDIsGenerated(t *testing.T) {
	t.Parallel()
	root := testutil.RepoRoot()
	want, err := os.ReadFile(filepath.Join(root, "config/crd/prow.k8s.io_prowjobs.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "deploy/helm/prowl/crds/prow.k8s.io_prowjobs.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(got) {
		t.Error("deploy/helm/prowl/crds/prow.k8s.io_prowjobs.yaml is stale: run `make generate`")
	}
}
