package config

import (
	"os"
	"path/filepath"
	"testing"
)

// Placeholders are replaced in the prow config and in every job file before decoding.
func TestLoadReplacesPlaceholders(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	jobs := filepath.Join(dir, "jobs.yaml")
	if err := os.WriteFile(cfg, []byte("plank:\n  default_decoration_config_entries:\n  - config:\n      gcs_configuration:\n        bucket: file://DATA/artifacts\n        path_strategy: explicit\n      utility_images: {clonerefs: c, initupload: i, entrypoint: e, sidecar: s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jobs, []byte("postsubmits:\n  org/repo:\n  - name: post\n    decorate: true\n    clone_uri: GIT/org/repo.git\n    spec: {containers: [{image: alpine, command: [\"true\"]}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _, err := Load(Options{ConfigPath: cfg, JobConfigPath: jobs, Placeholders: map[string]string{"DATA": "/var/prowl", "GIT": "http://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Plank.DefaultDecorationConfigEntries[0].Config.GCSConfiguration.Bucket; got != "file:///var/prowl/artifacts" {
		t.Errorf("bucket %q, want the data dir in place", got)
	}
	if got := c.PostsubmitsStatic["org/repo"][0].CloneURI; got != "http://127.0.0.1:1/org/repo.git" {
		t.Errorf("clone_uri %q, want the git URL in place", got)
	}
}
