package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/manager"
)

// transitions watch every ProwJob from the test for the whole run (an informer: it lists again
// and carries on after the API server restarts) and record each state it is seen in, so that a
// job that left a final state is caught even when it came back to it later.
type transitions struct {
	mu   sync.Mutex
	jobs map[string]*jobHistory
	// violations are final states left, and ProwJobs deleted, as they were seen.
	violations []string
}

// jobHistory is what the watch saw of one ProwJob.
type jobHistory struct {
	kind   prowv1.ProwJobType
	job    string
	states []prowv1.ProwJobState
	seen   []time.Time // when each state was seen
	done   bool        // its completionTime is set
}

func isFinal(s prowv1.ProwJobState) bool {
	switch s {
	case prowv1.SuccessState, prowv1.FailureState, prowv1.AbortedState, prowv1.ErrorState:
		return true
	}
	return false
}

// watchProwJobs starts the watch in namespace; it ends with the test.
func watchProwJobs(t *testing.T, cfg *rest.Config, namespace string) *transitions {
	t.Helper()
	scheme, err := manager.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(cfg, cache.Options{Scheme: scheme, DefaultNamespaces: map[string]cache.Config{namespace: {}}})
	if err != nil {
		t.Fatal(err)
	}
	tr := &transitions{jobs: map[string]*jobHistory{}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	inf, err := c.GetInformer(ctx, &prowv1.ProwJob{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { tr.observe(obj) },
		UpdateFunc: func(_, obj any) { tr.observe(obj) },
		DeleteFunc: tr.deleted,
	}); err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		t.Fatal("the ProwJob watch did not sync")
	}
	return tr
}

// observe records the state obj is in, when it changed, and a final state left.
func (tr *transitions) observe(obj any) {
	pj, ok := obj.(*prowv1.ProwJob)
	if !ok {
		return
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	h := tr.jobs[pj.Name]
	if h == nil {
		h = &jobHistory{kind: pj.Spec.Type, job: pj.Spec.Job}
		tr.jobs[pj.Name] = h
	}
	h.done = pj.Complete()
	s := pj.Status.State
	if n := len(h.states); n > 0 && h.states[n-1] == s {
		return
	}
	for _, prev := range h.states {
		if isFinal(prev) {
			tr.violations = append(tr.violations, fmt.Sprintf("%s (%s) left its final state: %v then %s", pj.Name, pj.Spec.Job, h.states, s))
			break
		}
	}
	h.states = append(h.states, s)
	h.seen = append(h.seen, time.Now())
}

func (tr *transitions) deleted(obj any) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if pj, ok := obj.(*prowv1.ProwJob); ok {
		tr.mu.Lock()
		tr.violations = append(tr.violations, fmt.Sprintf("%s (%s) was deleted", pj.Name, pj.Spec.Job))
		tr.mu.Unlock()
	}
}

// completed counts the ProwJobs of these types seen complete, and all of them seen.
func (tr *transitions) completed(types ...prowv1.ProwJobType) (done, seen int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, h := range tr.jobs {
		for _, ty := range types {
			if h.kind == ty {
				seen++
				if h.done {
					done++
				}
			}
		}
	}
	return done, seen
}

// history is a copy of what was seen of one ProwJob.
func (tr *transitions) history(name string) (jobHistory, bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	h, ok := tr.jobs[name]
	if !ok {
		return jobHistory{}, false
	}
	return jobHistory{kind: h.kind, job: h.job, states: append([]prowv1.ProwJobState(nil), h.states...), seen: append([]time.Time(nil), h.seen...), done: h.done}, true
}

// problems are the violations seen.
func (tr *transitions) problems() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.violations...)
}
