package jobs

import (
	"context"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// Create creates a built ProwJob with its status: the API server drops the status of a create
// (it is a subresource), so it is written right after. Should that second write fail, the job
// still runs: Plank gives a ProwJob with no state its triggered state.
func Create(ctx context.Context, c client.Client, pj *prowv1.ProwJob) error {
	status := pj.Status
	if err := c.Create(ctx, pj); err != nil {
		return err
	}
	pj.Status = status
	if err := c.Status().Update(ctx, pj); err != nil {
		logr.FromContextOrDiscard(ctx).Info("could not set the new ProwJob's status; Plank will", "prowjob", pj.Name, "error", err.Error())
	}
	return nil
}

// Newer says whether a ran after b: by start time (else creation time; both kept to the second),
// then by build ID (snowflakes grow with time). Neither is newer when both tie.
func Newer(a, b *prowv1.ProwJob) bool {
	at, bt := Started(a), Started(b)
	if !at.Equal(bt) {
		return at.After(bt)
	}
	ai, aErr := strconv.ParseUint(a.Status.BuildID, 10, 64)
	bi, bErr := strconv.ParseUint(b.Status.BuildID, 10, 64)
	return aErr == nil && bErr == nil && ai > bi
}

// Started is when a ProwJob started: its start time, else its creation time.
func Started(pj *prowv1.ProwJob) time.Time {
	if !pj.Status.StartTime.IsZero() {
		return pj.Status.StartTime.Time
	}
	return pj.CreationTimestamp.Time
}
