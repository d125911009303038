package images_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prowl-ci/prowl/deploy"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/images"
	"github.com/prowl-ci/prowl/internal/testutil"
)

var refs = images.Refs{
	"prowl":      "registry.example/prowl/prowl:abc@sha256:1111111111111111111111111111111111111111111111111111111111111111",
	"entrypoint": "registry.example/prowl/entrypoint:abc@sha256:2222222222222222222222222222222222222222222222222222222222222222",
	"initupload": "registry.example/prowl/initupload:abc@sha256:3333333333333333333333333333333333333333333333333333333333333333",
	"sidecar":    "registry.example/prowl/sidecar:abc@sha256:4444444444444444444444444444444444444444444444444444444444444444",
	"clonerefs":  "registry.example/prowl/clonerefs:abc@sha256:5555555555555555555555555555555555555555555555555555555555555555",
}

// copyBase copies deploy/base into a temporary directory (config/crd and config/rbac beside it,
// as its kustomization refers to them) and returns the copy of deploy/base.
func copyBase(t *testing.T) string {
	t.Helper()
	root := testutil.RepoRoot()
	tmp := t.TempDir()
	for _, d := range []string{"deploy/base", "config/crd", "config/rbac"} {
		err := filepath.WalkDir(filepath.Join(root, d), func(p string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(filepath.Join(tmp, rel)), 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(tmp, rel), data, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(tmp, "deploy/base")
}

// TestPointDeployAtImages rewrites a copy of deploy/base as `make images REGISTRY=...` does: the
// config still loads and names every pod utility by tag and digest, and every Deployment runs the
// pushed prowl image by tag and digest.
func TestPointDeployAtImages(t *testing.T) {
	t.Parallel()
	base := copyBase(t)
	cfgPath := filepath.Join(base, "config/config.yaml")
	if n, err := images.UpdateDeployConfig(cfgPath, refs); err != nil || n != 4 {
		t.Fatalf("UpdateDeployConfig: %d changed, %v", n, err)
	}
	if n, err := images.UpdateKustomization(filepath.Join(base, "kustomization.yaml"), "ghcr.io/prowl-ci/prowl", refs); err != nil || n != 1 {
		t.Fatalf("UpdateKustomization: %d, %v", n, err)
	}
	c, _, err := config.Load(config.Options{ConfigPath: cfgPath, JobConfigPath: filepath.Join(base, "config/jobs")})
	if err != nil {
		t.Fatal(err)
	}
	ui := c.Plank.DefaultDecorationConfigEntries[0].Config.UtilityImages
	if ui.Entrypoint != refs["entrypoint"] || ui.CloneRefs != refs["clonerefs"] || ui.InitUpload != refs["initupload"] || ui.Sidecar != refs["sidecar"] {
		t.Errorf("utility images %+v", ui)
	}
	raw, _ := os.ReadFile(cfgPath)
	if !strings.Contains(string(raw), "# Prow's config for a cluster deployment") {
		t.Error("the config's comments were lost")
	}
	objs, err := deploy.Kustomize(base)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		n++
		cs, _, _ := unstructuredContainers(o.Object)
		if cs != refs["prowl"] {
			t.Errorf("%s runs %s", o.GetName(), cs)
		}
	}
	if n == 0 {
		t.Fatal("no Deployments rendered")
	}
	values, err := images.HelmValues(refs)
	if err != nil || !strings.Contains(string(values), "sha256:1111") {
		t.Errorf("helm values %s, %v", values, err)
	}
}

func unstructuredContainers(obj map[string]any) (string, bool, error) {
	spec := obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	c := spec["containers"].([]any)[0].(map[string]any)
	img, ok := c["image"].(string)
	return img, ok, nil
}
