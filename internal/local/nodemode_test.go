package local

import (
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/localnode"
	"github.com/prowl-ci/prowl/internal/testutil"
	"github.com/prowl-ci/prowl/internal/testutil/seedconfig"
)

// The examples (utility_images prowl.local/...) run on the host's filesystem, since no registry
// here serves their alpine; any other config runs images; the flag overrides both; the start-up
// line says which.
func TestNodeModeChoice(t *testing.T) {
	t.Parallel()
	root := filepath.Join(testutil.RepoRoot(), "examples")
	examples, _, err := config.Load(config.Options{ConfigPath: filepath.Join(root, "config.yaml"), JobConfigPath: filepath.Join(root, "jobs"),
		Placeholders: map[string]string{DataDirPlaceholder: t.TempDir(), GitURLPlaceholder: "http://127.0.0.1:9"}})
	if err != nil {
		t.Fatal(err)
	}
	own := seedconfig.LoadText(t, "prowjob_namespace: default\npod_namespace: test-pods\n", "periodics:\n- name: p\n  interval: 1h\n  spec:\n    containers:\n    - image: golang:1.26\n      command: [go, version]\n")
	yes, no := true, false
	dataDir, imageDir := t.TempDir(), t.TempDir()
	for _, tc := range []struct {
		name     string
		c        *config.Config
		flag     *bool
		imageDir string // "" as prowl up: the node's own
		wantHost bool
		wantLine string
	}{
		{"examples", examples, nil, imageDir, true, "on this machine's filesystem; image: is not pulled (the config's utility_images are Prowl's local ones"},
		{"own config", own, nil, imageDir, false, "each container runs in its image, pulled into " + imageDir + ";"},
		{"own config, prowl up", own, nil, "", false, "each container runs in its image, pulled into " + filepath.Join(dataDir, "images") + ";"},
		{"examples, --host-filesystem=false", examples, &no, imageDir, false, "(--host-filesystem=false)"},
		{"own config, --host-filesystem", own, &yes, imageDir, true, "(--host-filesystem=true)"},
	} {
		var out strings.Builder
		n := &localnode.Node{DataDir: dataDir}
		NodeOptions{HostFilesystem: tc.flag, ImageDir: tc.imageDir}.apply(n, tc.c, &out)
		if n.HostFilesystem != tc.wantHost || !strings.Contains(out.String(), tc.wantLine) {
			t.Errorf("%s: host filesystem %v, said %q; want %v, %q", tc.name, n.HostFilesystem, out.String(), tc.wantHost, tc.wantLine)
		}
	}
}

func TestApplyPull(t *testing.T) {
	t.Parallel()
	pod := &corev1.Pod{Spec: corev1.PodSpec{InitContainers: []corev1.Container{{Name: "i"}}, Containers: []corev1.Container{{Name: "c", ImagePullPolicy: corev1.PullAlways}}}}
	if err := applyPull(pod, "never"); err != nil {
		t.Fatal(err)
	}
	if pod.Spec.InitContainers[0].ImagePullPolicy != corev1.PullNever || pod.Spec.Containers[0].ImagePullPolicy != corev1.PullNever {
		t.Errorf("--pull never left policies %s, %s", pod.Spec.InitContainers[0].ImagePullPolicy, pod.Spec.Containers[0].ImagePullPolicy)
	}
	if err := applyPull(pod, "sometimes"); err == nil || !strings.Contains(err.Error(), "never, missing or always") {
		t.Errorf("--pull sometimes: %v", err)
	}
}
