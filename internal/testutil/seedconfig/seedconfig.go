// Package seedconfig loads the seed's prow config for controller tests. It is apart from testutil,
// which internal/config's own tests import.
package seedconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// Load loads the seed's prow config (its decoration defaults) moved into namespace ns for
// both ProwJobs and Pods, with plank holding extra YAML lines too (indented two spaces), and jobs
// as the job config when not empty.
func Load(t testing.TB, ns, plank, jobs string) *config.Config {
	t.Helper()
	seed, err := os.ReadFile(testutil.Seed("prow-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("prowjob_namespace: default", "prowjob_namespace: "+ns, "pod_namespace: test-pods", "pod_namespace: "+ns).Replace(string(seed))
	text = strings.Replace(text, "plank:\n", "plank:\n"+plank, 1)
	return LoadText(t, text, jobs)
}

// LoadText writes prow as the prow config and jobs (when not empty) as the job config into a
// temporary directory and loads them as every component does, failing the test on an error.
func LoadText(t testing.TB, prow, jobs string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	opts := config.Options{ConfigPath: filepath.Join(dir, "config.yaml")}
	if err := os.WriteFile(opts.ConfigPath, []byte(prow), 0o644); err != nil {
		t.Fatal(err)
	}
	if jobs != "" {
		opts.JobConfigPath = filepath.Join(dir, "jobs.yaml")
		if err := os.WriteFile(opts.JobConfigPath, []byte(jobs), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, _, err := config.Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
