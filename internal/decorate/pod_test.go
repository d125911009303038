package decorate

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/testutil"
)

var utilityContainers = []string{CloneRefsName, InitUploadName, PlaceEntrypointName, SidecarName}

// dropUtilityCommands removes the one deliberate difference from Prow's Pods: Prowl names each
// utility's binary (command /clonerefs, /initupload, /entrypoint, /sidecar) where Prow relies on
// the image's entrypoint.
func dropUtilityCommands(spec *corev1.PodSpec) {
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range cs {
			if slices.Contains(utilityContainers, cs[i].Name) {
				cs[i].Command = nil
			}
		}
	}
}

// TestProwJobToPodFixtures decorates the ProwJob behind each Pod that Prow decorated and checks
// that Prowl makes the same Pod. The ProwJobs are input files of their own,
// testdata/prow/<fixture>.prowjob.yaml (the build ID in status.build_id), written once from
// what each Pod's JOB_SPEC, labels and annotations carry and checked by hand; they are never
// regenerated, so that a decoration rule that is wrong cannot also be what makes its input.
func TestProwJobToPodFixtures(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(testutil.SharedTestdata(t, "prow", "decorate"), "TestProwJobToPod_*.yaml"))
	if err != nil || len(files) != 11 {
		t.Fatalf("want 11 fixtures, got %d (%v)", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			want := &corev1.Pod{}
			readYAML(t, f, want)
			pj := &prowv1.ProwJob{}
			readYAML(t, filepath.Join("testdata", "prow", strings.TrimSuffix(filepath.Base(f), ".yaml")+".prowjob.yaml"), pj)
			got, err := Pod(pj, pj.Status.BuildID)
			if err != nil {
				t.Fatal(err)
			}
			got.TypeMeta = want.TypeMeta
			dropUtilityCommands(&got.Spec)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Pod differs from Prow's (-prow +prowl):\n%s", diff)
			}
		})
	}
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(raw, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
