package local

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// The embedded examples are written with no placeholder left, and load.
func TestWriteExamples(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := writeExamples(dir, placeholders("/data", "http://127.0.0.1:9")); err != nil {
		t.Fatal(err)
	}
	o := config.Options{ConfigPath: filepath.Join(dir, "config.yaml"), JobConfigPath: filepath.Join(dir, "jobs")}
	if usesPlaceholder(o, DataDirPlaceholder) || usesPlaceholder(o, GitURLPlaceholder) {
		t.Error("placeholders left in the written examples")
	}
	c, _, err := config.Load(o)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.PostsubmitsStatic["prowl-example/hello"][0].CloneURI; got != "http://127.0.0.1:9/prowl-example/hello.git" {
		t.Errorf("clone_uri %q", got)
	}
}

// The repository's own examples/, used in place, hold both placeholders, which Placeholders
// replaces on load: artifacts go under the data dir, not into a folder named PROWL_DATA_DIR.
func TestRepositoryExamplesInPlace(t *testing.T) {
	t.Parallel()
	root := filepath.Join(testutil.RepoRoot(), "examples")
	o := config.Options{ConfigPath: filepath.Join(root, "config.yaml"), JobConfigPath: filepath.Join(root, "jobs")}
	if !usesPlaceholder(o, DataDirPlaceholder) || !usesPlaceholder(o, GitURLPlaceholder) {
		t.Fatal("examples/ no longer uses the placeholders; this test and prepareConfig can go")
	}
	if usesPlaceholder(config.Options{ConfigPath: filepath.Join(t.TempDir(), "none.yaml")}, DataDirPlaceholder) {
		t.Error("a missing file uses a placeholder")
	}
	data := t.TempDir()
	u := UpOptions{Config: o, DataDir: data, GitAddr: "127.0.0.1:0", Stdout: io.Discard}
	ctx := t.Context()
	if err := u.prepareConfig(ctx); err != nil {
		t.Fatal(err)
	}
	c, _, err := config.Load(u.Config)
	if err != nil {
		t.Fatal(err)
	}
	bucket := c.Plank.DefaultDecorationConfigEntries[0].Config.GCSConfiguration.Bucket
	if bucket != "file://"+data+"/artifacts" {
		t.Errorf("bucket %q, want file://%s/artifacts", bucket, data)
	}
	clone := c.PostsubmitsStatic["prowl-example/hello"][0].CloneURI
	if !strings.HasPrefix(clone, "http://127.0.0.1:") || strings.Contains(clone, GitURLPlaceholder) {
		t.Errorf("clone_uri %q, want the served example repository", clone)
	}
}

// A run's result is finished.json's, as an exit code; without one the job did not finish.
func TestRunResult(t *testing.T) {
	t.Parallel()
	pj := &prowv1.ProwJob{Spec: prowv1.ProwJobSpec{Type: prowv1.PeriodicJob, Job: "j",
		DecorationConfig: &prowv1.DecorationConfig{GCSConfiguration: &prowv1.GCSConfiguration{PathStrategy: "explicit"}}}}
	pj.Status.BuildID = "7"
	out := t.TempDir()
	if code, result := runResult(pj, out); code != RunError || !strings.Contains(result, "did not finish") {
		t.Errorf("no finished.json: %d %q", code, result)
	}
	dir := filepath.Join(out, "logs", "j", "7")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for result, want := range map[string]int{"SUCCESS": RunSuccess, "FAILURE": RunFailure, "ABORTED": RunError} {
		if err := os.WriteFile(filepath.Join(dir, "finished.json"), []byte(`{"result":"`+result+`"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, got := runResult(pj, out); code != want || got != result {
			t.Errorf("finished.json says %s: exit %d (%s), want %d", result, code, got, want)
		}
	}
	if got := tail("a\nb\nc\n", 2); got != "b\nc" {
		t.Errorf("tail: %q", got)
	}
}
