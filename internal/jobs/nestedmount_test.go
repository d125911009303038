package jobs

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/decorate"
)

// nestedMountJobs is a presubmit that mounts a module cache below decoration's /home/prow/go, as
// Prow's users do; Prow accepts it, and so must Prowl.
const nestedMountJobs = `presubmits:
  org/repo:
  - name: pull-nested-cache
    decorate: true
    spec:
      volumes:
      - name: gocache
        emptyDir: {}
      containers:
      - image: golang
        command: [go, test, ./...]
        volumeMounts:
        - name: gocache
          mountPath: /home/prow/go/pkg
`

// TestNestedMountPodIsAccepted: the job loads, and the Pod decorated from its ProwJob (the code
// volume at /home/prow/go, the cache at /home/prow/go/pkg) passes the API server's validation
// (a server-side dry run).
func TestNestedMountPodIsAccepted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "jobs.yaml"), []byte(nestedMountJobs), 0o644); err != nil {
		t.Fatal(err)
	}
	c := loadExamples(t, filepath.Join(dir, "jobs.yaml"))
	pj := testBuilder(c).Presubmit(&c.PresubmitsStatic["org/repo"][0], prowv1.Refs{Org: "org", Repo: "repo", BaseRef: "main", BaseSHA: "abc", Pulls: []prowv1.Pull{{Number: 1, Author: "a", SHA: "def"}}})
	pod, err := decorate.Pod(pj, "1")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, m := range pod.Spec.Containers[0].VolumeMounts {
		paths = append(paths, m.MountPath)
	}
	if !slices.Contains(paths, "/home/prow/go") || !slices.Contains(paths, "/home/prow/go/pkg") {
		t.Fatalf("test container mounts %v; want the code volume and the cache below it", paths)
	}
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: pod.Namespace}}
	if err := env.Client.Create(ctx, ns); client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, pod, client.DryRunAll); err != nil {
		t.Fatalf("the API server refused the decorated Pod: %v", err)
	}
}
