package config

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
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

// TestMergeMediaTypes: mediaTypes merge key by key, and a key both set takes the default's value,
// as Prow's GCSConfiguration.ApplyDefault does.
func TestMergeMediaTypes(t *testing.T) {
	t.Parallel()
	job := &prowv1.DecorationConfig{GCSConfiguration: &prowv1.GCSConfiguration{MediaTypes: map[string]string{"log": "text/x-job", "md": "text/markdown"}}}
	def := &prowv1.DecorationConfig{GCSConfiguration: &prowv1.GCSConfiguration{Bucket: "b", MediaTypes: map[string]string{"log": "text/plain", "json": "application/json"}}}
	got := MergeDecorationConfig(job, def).GCSConfiguration
	want := map[string]string{"log": "text/plain", "md": "text/markdown", "json": "application/json"}
	if !maps.Equal(got.MediaTypes, want) || got.Bucket != "b" {
		t.Errorf("merged %+v, want media types %v and bucket b", got, want)
	}
	if len(job.GCSConfiguration.MediaTypes) != 2 {
		t.Error("merging changed the job's own config")
	}
}
