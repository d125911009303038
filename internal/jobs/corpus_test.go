package jobs

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/decorate"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// TestEveryTestInfraJobIsAccepted builds the ProwJob of each of test-infra's 3,849 jobs and its
// decorated Pod, and has the real API server accept both with server-side dry-run creates, in
// parallel.
func TestEveryTestInfraJobIsAccepted(t *testing.T) {
	t.Parallel()
	root := testutil.SharedTestdata(t, "prow-config", "test-infra", "config")
	c, _, err := config.Load(config.Options{ConfigPath: filepath.Join(root, "prow", "config.yaml"), JobConfigPath: filepath.Join(root, "jobs")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range []string{c.ProwJobNamespace, c.PodNamespace} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := env.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	b := NewBuilder(c)
	var pjs []*prowv1.ProwJob
	for i := range c.Periodics {
		pjs = append(pjs, b.Periodic(&c.Periodics[i]))
	}
	for repo, jobs := range c.PresubmitsStatic {
		for i := range jobs {
			refs := baseRefs(repo, RefsOptions{BaseRef: "main", BaseSHA: "0123456789abcdef"})
			refs.Pulls = []prowv1.Pull{{Number: 1, Author: "alice", SHA: "fedcba9876543210"}}
			pjs = append(pjs, b.Presubmit(&jobs[i], refs))
		}
	}
	for repo, jobs := range c.PostsubmitsStatic {
		for i := range jobs {
			pjs = append(pjs, b.Postsubmit(&jobs[i], baseRefs(repo, RefsOptions{BaseRef: "main", BaseSHA: "0123456789abcdef"})))
		}
	}
	if len(pjs) != 3849 {
		t.Fatalf("built %d ProwJobs, want 3849", len(pjs))
	}
	ids, err := NewBuildIDs(1)
	if err != nil {
		t.Fatal(err)
	}
	work := make(chan *prowv1.ProwJob)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pj := range work {
				if err := env.Client.Create(ctx, pj, client.DryRunAll); err != nil {
					if failed.Add(1) <= 10 {
						t.Errorf("ProwJob of %s rejected: %v", pj.Spec.Job, err)
					}
				}
				if pj.Spec.Agent != prowv1.KubernetesAgent {
					continue
				}
				pod, err := decorate.Pod(pj, ids.Next())
				if err == nil && pod.Spec.ServiceAccountName == "" {
					// A real cluster's ServiceAccount admission plugin sets "default" before
					// validation (a projected token volume needs it); envtest runs without it.
					pod.Spec.ServiceAccountName = "default"
				}
				if err == nil {
					err = env.Client.Create(ctx, pod, client.DryRunAll)
				}
				if err != nil && failed.Add(1) <= 10 {
					t.Errorf("Pod of %s rejected: %v", pj.Spec.Job, err)
				}
			}
		}()
	}
	for _, pj := range pjs {
		work <- pj
	}
	close(work)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d ProwJobs and their Pods rejected", n, len(pjs))
	}
}
