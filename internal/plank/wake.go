package plank

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
)

// wakeWaiting: when a job leaves pending or finishes, the triggered jobs that may take the slots
// it let go are reconciled (startable says which). Waking every triggered job instead made a
// herd: with 450 jobs waiting, each finish queued 450 reconciles, and the reconcile that would
// see the next Pod finish waited behind them (TestPlankLoad ran 500 jobs at about 10 a second,
// with 50 reconciles a job). A job not woken here comes back within the minute waitForCapacity
// asks for.
func (r *Reconciler) wakeWaiting(ctx context.Context, e event.TypedUpdateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	old, cur := e.ObjectOld.(*prowv1.ProwJob), e.ObjectNew.(*prowv1.ProwJob)
	if state(old) != prowv1.PendingState || state(cur) == prowv1.PendingState {
		return
	}
	for _, pj := range r.startable(ctx, cur) {
		q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: pj.Namespace, Name: pj.Name}})
	}
}

// startable are the triggered jobs that may start now that gone left pending, earliest first:
// with plank.max_concurrency, as many as it has free slots of those whose own limits let them
// start; without, those of gone's job and queue whose limits let them start. It reads the
// cache, which has seen gone leave.
func (r *Reconciler) startable(ctx context.Context, gone *prowv1.ProwJob) []*prowv1.ProwJob {
	pending, err := r.list(ctx, gone.Namespace, stateIndex, string(prowv1.PendingState))
	if err != nil {
		return nil
	}
	triggered, err := r.list(ctx, gone.Namespace, stateIndex, string(prowv1.TriggeredState))
	if err != nil {
		return nil
	}
	cfg := r.Config()
	next := inLine(cfg, pending, triggered)
	if limit := cfg.Plank.MaxConcurrency; limit > 0 {
		return next[:min(len(next), max(limit-len(pending), 0))]
	}
	return slices.DeleteFunc(next, func(pj *prowv1.ProwJob) bool {
		return pj.Spec.Job != gone.Spec.Job && (gone.Spec.JobQueueName == "" || pj.Spec.JobQueueName != gone.Spec.JobQueueName)
	})
}

// inLine are the triggered jobs whose own limits, their max_concurrency and their job queue's
// capacity, let them start, in the order Plank starts jobs: as hasCapacity does, each counts
// the pending jobs of its job and queue and the triggered ones created before it.
func inLine(cfg *config.Config, pending, triggered []prowv1.ProwJob) []*prowv1.ProwJob {
	jobs, queues := map[string]int{}, map[string]int{}
	for i := range pending {
		jobs[pending[i].Spec.Job]++
		queues[pending[i].Spec.JobQueueName]++
	}
	order := make([]*prowv1.ProwJob, 0, len(triggered))
	for i := range triggered {
		order = append(order, &triggered[i])
	}
	slices.SortFunc(order, func(a, b *prowv1.ProwJob) int {
		switch {
		case earlier(a, b):
			return -1
		case earlier(b, a):
			return 1
		}
		return 0
	})
	var out []*prowv1.ProwJob
	for _, pj := range order {
		ok := pj.Spec.MaxConcurrency == 0 || jobs[pj.Spec.Job] < pj.Spec.MaxConcurrency
		if q := pj.Spec.JobQueueName; q != "" {
			if capacity, limited := cfg.Plank.JobQueueCapacities[q]; limited && capacity >= 0 && queues[q] >= capacity {
				ok = false
			}
		}
		if ok {
			out = append(out, pj)
		}
		jobs[pj.Spec.Job]++
		queues[pj.Spec.JobQueueName]++
	}
	return out
}
