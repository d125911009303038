package decorate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// FuzzPod decorates any ProwJob that decodes from JSON (the API server's structural schema
// accepts what decodes into the Go types): a Pod or an error, never a panic; a Pod has the
// ProwJob's name and at least one container.
func FuzzPod(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(testutil.SharedTestdataPath(), "prow", "prowjobs", "*.yaml"))
	seeds = append(seeds, testutil.Seed("prowjob.yaml"))
	for _, p := range seeds {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if j, err := yaml.YAMLToJSON(raw); err == nil {
			f.Add(j)
		}
	}
	f.Add([]byte(`{"metadata":{"name":"x"},"spec":{"type":"periodic","job":"j","pod_spec":{"containers":[]},"decoration_config":{}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		pj := &prowv1.ProwJob{}
		if err := json.Unmarshal(data, pj); err != nil {
			return
		}
		pod, err := Pod(pj, "1")
		if err != nil {
			return
		}
		if pod.Name != pj.Name || len(pod.Spec.Containers) == 0 {
			t.Fatalf("Pod %q with %d containers from ProwJob %q", pod.Name, len(pod.Spec.Containers), pj.Name)
		}
	})
}
