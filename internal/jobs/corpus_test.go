package jobs

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// TestEveryTestInfraProwJobIsAccepted builds the ProwJob of each of test-infra's 3,849 jobs and has
// the real API server accept it with a server-side dry-run create, in parallel.
func TestEveryTestInfraProwJobIsAccepted(t *testing.T) {
	t.Parallel()
	root := testutil.SharedTestdata(t, "prow-config", "test-infra", "config")
	c, _, err := config.Load(config.Options{ConfigPath: filepath.Join(root, "prow", "config.yaml"), JobConfigPath: filepath.Join(root, "jobs")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: c.ProwJobNamespace}}
	if err := env.Client.Create(ctx, ns); err != nil && c.ProwJobNamespace != "default" {
		t.Fatal(err)
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
						t.Errorf("job %s rejected: %v", pj.Spec.Job, err)
					}
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
		t.Errorf("%d of %d ProwJobs rejected", n, len(pjs))
	}
}
