package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// TestDefaultingGolden loads a job before defaulting and compares it, after presets, decoration
// defaults and job defaults, with testdata/defaulting_golden.yaml. UPDATE=1 rewrites the golden
// file.
func TestDefaultingGolden(t *testing.T) {
	t.Parallel()
	c, warnings, err := Load(Options{ConfigPath: "testdata/defaulting_config.yaml", JobConfigPath: "testdata/defaulting_jobs.yaml", Strict: true})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("load: %v %v", err, warnings)
	}
	got, err := yaml.Marshal(map[string]any{"presubmits": c.PresubmitsStatic, "periodics": c.Periodics})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "defaulting_golden.yaml")
	if os.Getenv("UPDATE") == "1" {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with UPDATE=1 to create it)", err)
	}
	if diff := cmp.Diff(strings.TrimSpace(string(want)), strings.TrimSpace(string(got))); diff != "" {
		t.Errorf("defaulted jobs differ from %s (-golden +got); if the change is right, rerun with UPDATE=1:\n%s", golden, diff)
	}
}
