package plank

import (
	"context"
	"fmt"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// Cache indexes of ProwJobs that capacity checks and supersession use.
const (
	jobIndex   = "plank.spec.job"
	queueIndex = "plank.spec.job_queue_name"
	stateIndex = "plank.status.state"
)

// state is a ProwJob's state, an empty one counting as triggered.
func state(pj *prowv1.ProwJob) prowv1.ProwJobState {
	if pj.Status.State == "" {
		return prowv1.TriggeredState
	}
	return pj.Status.State
}

func indexers() map[string]client.IndexerFunc {
	return map[string]client.IndexerFunc{
		jobIndex: func(o client.Object) []string { return []string{o.(*prowv1.ProwJob).Spec.Job} },
		queueIndex: func(o client.Object) []string {
			if q := o.(*prowv1.ProwJob).Spec.JobQueueName; q != "" {
				return []string{q}
			}
			return nil
		},
		stateIndex: func(o client.Object) []string { return []string{string(state(o.(*prowv1.ProwJob)))} },
	}
}

func (r *Reconciler) list(ctx context.Context, ns string, field, value string) ([]prowv1.ProwJob, error) {
	var list prowv1.ProwJobList
	if err := r.Client.List(ctx, &list, client.InNamespace(ns), client.MatchingFields{field: value}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// earlier orders ProwJobs by creation, then name, so that jobs start in the order they came.
func earlier(a, b *prowv1.ProwJob) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Name < b.Name
}

// ahead counts the jobs that hold a slot before pj, each once: the jobs of the limit being
// started, which the cache may not show pending yet, and of others (the cache's jobs of a limit,
// which may be thousands) the pending ones and the triggered ones created earlier.
func ahead(pj *prowv1.ProwJob, others []prowv1.ProwJob, starting []*prowv1.ProwJob) int {
	claimed := make(map[string]bool, len(starting))
	for _, o := range starting {
		if o.Name != pj.Name {
			claimed[o.Name] = true
		}
	}
	n := len(claimed)
	for i := range others {
		o := &others[i]
		if o.Name == pj.Name || o.Complete() || claimed[o.Name] {
			continue
		}
		switch state(o) {
		case prowv1.PendingState:
			n++
		case prowv1.TriggeredState:
			if earlier(o, pj) {
				n++
			}
		}
	}
	return n
}

// startingOf are the jobs being started that count against the same limit as pj: of its
// namespace, and alike by same.
func startingOf(pj *prowv1.ProwJob, starting []*prowv1.ProwJob, same func(*prowv1.ProwJob) bool) []*prowv1.ProwJob {
	var out []*prowv1.ProwJob
	for _, o := range starting {
		if o.Namespace == pj.Namespace && same(o) {
			out = append(out, o)
		}
	}
	return out
}

// hasCapacity checks plank.max_concurrency (pending jobs), the job's max_concurrency and its job
// queue's capacity (pending jobs and earlier triggered ones), counting the jobs being started
// too. The reason it gives names the limit, not how many jobs hold it: a waiting job's
// description then changes only when what it waits for does, not with every job that starts
// or ends (500 jobs under the three limits wrote about 7 extra statuses each).
func (r *Reconciler) hasCapacity(ctx context.Context, pj *prowv1.ProwJob, starting []*prowv1.ProwJob) (bool, string, error) {
	cfg := r.Config()
	if max := cfg.Plank.MaxConcurrency; max > 0 {
		pending, err := r.list(ctx, pj.Namespace, stateIndex, string(prowv1.PendingState))
		if err != nil {
			return false, "", err
		}
		if ahead(pj, pending, startingOf(pj, starting, func(*prowv1.ProwJob) bool { return true })) >= max {
			return false, fmt.Sprintf("plank.max_concurrency (%d) is reached", max), nil
		}
	}
	if max := pj.Spec.MaxConcurrency; max > 0 {
		same, err := r.list(ctx, pj.Namespace, jobIndex, pj.Spec.Job)
		if err != nil {
			return false, "", err
		}
		if ahead(pj, same, startingOf(pj, starting, func(o *prowv1.ProwJob) bool { return o.Spec.Job == pj.Spec.Job })) >= max {
			return false, fmt.Sprintf("%s's max_concurrency (%d) is reached by runs ahead", pj.Spec.Job, max), nil
		}
	}
	if q := pj.Spec.JobQueueName; q != "" {
		capacity, ok := cfg.Plank.JobQueueCapacities[q]
		if !ok {
			capacity = -1
		}
		if capacity >= 0 {
			queued, err := r.list(ctx, pj.Namespace, queueIndex, q)
			if err != nil {
				return false, "", err
			}
			if ahead(pj, queued, startingOf(pj, starting, func(o *prowv1.ProwJob) bool { return o.Spec.JobQueueName == q })) >= capacity {
				return false, fmt.Sprintf("job queue %s's capacity (%d) is reached by jobs ahead", q, capacity), nil
			}
		}
	}
	return true, "", nil
}

// abortSuperseded aborts older triggered or pending runs of the same presubmit for the same
// refs: a new push made them moot.
func (r *Reconciler) abortSuperseded(ctx context.Context, pj *prowv1.ProwJob) error {
	if pj.Spec.Refs == nil {
		return nil
	}
	same, err := r.list(ctx, pj.Namespace, jobIndex, pj.Spec.Job)
	if err != nil {
		return err
	}
	for i := range same {
		o := &same[i]
		if o.Name == pj.Name || o.Complete() || o.Spec.Type != prowv1.PresubmitJob || !earlier(o, pj) || !sameChange(o, pj) {
			continue
		}
		if s := state(o); s != prowv1.TriggeredState && s != prowv1.PendingState {
			continue
		}
		old := o.DeepCopy()
		patched := old.DeepCopy()
		patched.Status.State = prowv1.AbortedState
		patched.Status.Description = fmt.Sprintf("Aborted: superseded by %s.", pj.Name)
		if err := r.Client.Status().Patch(ctx, patched, client.MergeFromWithOptions(old, client.MergeFromWithOptimisticLock{})); err != nil {
			return fmt.Errorf("abort superseded %s: %w", o.Name, err)
		}
		r.Recorder.Aborted(patched, patched.Status.Description)
	}
	return nil
}

// sameChange reports whether two presubmits test the same org, repo, base ref and pull requests.
func sameChange(a, b *prowv1.ProwJob) bool {
	ra, rb := a.Spec.Refs, b.Spec.Refs
	if ra == nil || rb == nil || ra.Org != rb.Org || ra.Repo != rb.Repo || ra.BaseRef != rb.BaseRef {
		return false
	}
	numbers := func(ps []prowv1.Pull) []int {
		var n []int
		for _, p := range ps {
			n = append(n, p.Number)
		}
		slices.Sort(n)
		return n
	}
	return slices.Equal(numbers(ra.Pulls), numbers(rb.Pulls))
}
