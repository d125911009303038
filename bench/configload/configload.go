// Package configload measures loading test-infra's job config (3,849 jobs in 601 files) with
// Prowl's loader against a baseline that only reads the same files and decodes them with
// sigs.k8s.io/yaml into generic maps, one after another, keeping them all in memory.
package configload

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"sigs.k8s.io/yaml"

	"github.com/prowl-ci/prowl/internal/config"
)

// Inputs are the corpus's prow config and job config directory.
type Inputs struct {
	ConfigPath, JobConfigPath string
}

// Find locates the corpus under ../shared/testdata from the repository root.
func Find(repoRoot string) (Inputs, error) {
	root := filepath.Join(repoRoot, "..", "shared", "testdata", "prow-config", "test-infra", "config")
	in := Inputs{ConfigPath: filepath.Join(root, "prow", "config.yaml"), JobConfigPath: filepath.Join(root, "jobs")}
	if _, err := os.Stat(in.JobConfigPath); err != nil {
		return in, fmt.Errorf("the test-infra corpus is absent (%s): it comes with ../shared/testdata", root)
	}
	return in, nil
}

// Prowl loads, defaults and validates the corpus.
func Prowl(in Inputs) error {
	c, _, err := config.Load(config.Options{ConfigPath: in.ConfigPath, JobConfigPath: in.JobConfigPath})
	if err != nil {
		return err
	}
	runtime.KeepAlive(c)
	return nil
}

// Baseline reads every file the loader reads (the same .prowignore rules) and decodes each into a
// generic map, one after another.
func Baseline(in Inputs) error {
	files := []string{in.ConfigPath}
	err := filepath.WalkDir(in.JobConfigPath, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(p); (ext == ".yaml" || ext == ".yml") && filepath.Base(p) != "default.yaml" {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	docs := make([]map[string]any, 0, len(files))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var doc map[string]any
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		docs = append(docs, doc)
	}
	runtime.KeepAlive(docs)
	return nil
}
