package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/prowl-ci/prowl/internal/testutil"
)

// FuzzJobConfig feeds arbitrary bytes to the job config loader: it may reject them, never panic.
// Run it with `go test -fuzz FuzzJobConfig ./internal/config`.
func FuzzJobConfig(f *testing.F) {
	for _, seed := range []string{echoJob, "", "prow_ignored: &a {x: 1}\nperiodics: []\n", "presubmits:\n  o/r:\n  - name: j\n    spec: {containers: [{}]}\n"} {
		f.Add([]byte(seed))
	}
	if raw, err := os.ReadFile(testutil.Seed("periodic-config.yaml")); err == nil {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(t.TempDir(), "jobs.yaml")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, _, err := Load(Options{JobConfigPath: file})
		if err == nil && c == nil {
			t.Fatal("no config and no error")
		}
	})
}
