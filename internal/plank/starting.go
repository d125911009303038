package plank

import (
	"context"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// starting holds the ProwJobs that Plank decided to start and that its cache does not show
// pending yet. The capacity checks count them with the cache's pending jobs, and run one at a
// time: otherwise two workers, each reading a cache that has not seen the other's job start
// yet, both take the last slot (the cache lags the writes by milliseconds to seconds under load,
// and TestPlankLoad saw 78 jobs pending under a plank.max_concurrency of 50). Prow has the same
// lag; it waits after each start for its cache to see the job pending, which blocks a worker
// and still lets two workers decide at once. The zero value is ready to use.
type starting struct {
	mu   sync.Mutex
	jobs map[types.NamespacedName]*prowv1.ProwJob
}

// claim runs decide, one claim at a time, over the jobs being started (pj's own claim left out
// of them), and holds a slot for pj when decide allows it to start; otherwise pj's claim, if it
// had one, is let go. Claims the cache has caught up with are dropped first.
func (s *starting) claim(ctx context.Context, c client.Reader, pj *prowv1.ProwJob, decide func(others []*prowv1.ProwJob) (bool, error)) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune(ctx, c)
	key := client.ObjectKeyFromObject(pj)
	others := make([]*prowv1.ProwJob, 0, len(s.jobs))
	for k, o := range s.jobs {
		if k != key {
			others = append(others, o)
		}
	}
	ok, err := decide(others)
	if err != nil || !ok {
		delete(s.jobs, key)
		return ok, err
	}
	s.holdLocked(pj)
	return true, nil
}

// hold holds a slot for pj without deciding: its Pod runs already.
func (s *starting) hold(pj *prowv1.ProwJob) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdLocked(pj)
}

func (s *starting) holdLocked(pj *prowv1.ProwJob) {
	if s.jobs == nil {
		s.jobs = map[types.NamespacedName]*prowv1.ProwJob{}
	}
	// What the limits read, none of which changes.
	s.jobs[client.ObjectKeyFromObject(pj)] = &prowv1.ProwJob{
		ObjectMeta: metav1.ObjectMeta{Namespace: pj.Namespace, Name: pj.Name, CreationTimestamp: pj.CreationTimestamp},
		Spec:       prowv1.ProwJobSpec{Job: pj.Spec.Job, JobQueueName: pj.Spec.JobQueueName},
	}
}

// release lets pj's slot go: it did not start.
func (s *starting) release(pj *prowv1.ProwJob) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.jobs, client.ObjectKeyFromObject(pj))
}

// prune drops the claims of jobs the cache shows past triggered (pending, so counted by the
// cache itself, or finished) or gone.
func (s *starting) prune(ctx context.Context, c client.Reader) {
	for key := range s.jobs {
		cached := &prowv1.ProwJob{}
		err := c.Get(ctx, key, cached, client.UnsafeDisableDeepCopy) // its state alone is read
		if apierrors.IsNotFound(err) || (err == nil && state(cached) != prowv1.TriggeredState) {
			delete(s.jobs, key)
		}
	}
}
