package trigger

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// prowJobsOf lists a pull request's presubmit ProwJobs.
func (t *Trigger) prowJobsOf(ctx context.Context, p pull) ([]prowv1.ProwJob, error) {
	var list prowv1.ProwJobList
	err := t.Client.List(ctx, &list, client.InNamespace(t.Config().ProwJobNamespace), client.MatchingLabels{
		prowv1.OrgLabel: p.org, prowv1.RepoLabel: p.repo, prowv1.PullLabel: strconv.Itoa(p.number), prowv1.TypeLabel: string(prowv1.PresubmitJob),
	})
	if err != nil {
		return nil, fmt.Errorf("list the ProwJobs of %s/%s#%d: %w", p.org, p.repo, p.number, err)
	}
	return list.Items, nil
}

func pullSHA(pj *prowv1.ProwJob) string {
	if pj.Spec.Refs == nil || len(pj.Spec.Refs.Pulls) == 0 {
		return ""
	}
	return pj.Spec.Refs.Pulls[0].SHA
}

// abort ends the pull request's unfinished ProwJobs that match; Plank deletes their Pods.
func (t *Trigger) abort(ctx context.Context, p pull, why string, match func(*prowv1.ProwJob) bool) error {
	pjs, err := t.prowJobsOf(ctx, p)
	if err != nil {
		return err
	}
	var errs []error
	for i := range pjs {
		pj := &pjs[i]
		if pj.Complete() || !match(pj) {
			continue
		}
		// With an optimistic lock: a job that finished meanwhile keeps its result.
		var from prowv1.ProwJobState
		aborted := false
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if pj.Complete() {
				return nil
			}
			base := pj.DeepCopy()
			from = pj.Status.State
			pj.Status.State, pj.Status.Description = prowv1.AbortedState, why
			err := t.Client.Status().Patch(ctx, pj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
			if apierrors.IsConflict(err) {
				if gerr := t.Client.Get(ctx, client.ObjectKeyFromObject(pj), pj); gerr != nil {
					return gerr
				}
			}
			aborted = err == nil
			return err
		})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("abort %s: %w", pj.Name, err))
			continue
		}
		if aborted {
			ctrl.LoggerFrom(ctx).Info("state changed", "prowjob", pj.Name, "job", pj.Spec.Job, "from", from, "to", prowv1.AbortedState, "description", why)
			t.Recorder.Aborted(pj, why)
		}
	}
	return errors.Join(errs...)
}
