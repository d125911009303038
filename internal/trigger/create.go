package trigger

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/backoff"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/events"
	"github.com/prowl-ci/prowl/internal/jobs"
)

// start creates a ProwJob per presubmit, named from the delivery and the job so that a retried
// or redelivered event creates each at most once.
func (t *Trigger) start(ctx context.Context, delivery string, p pull, run []*config.Presubmit) error {
	c := t.Config()
	refs := presubmitRefs(p)
	var errs []error
	for _, job := range run {
		b := t.builder(c, delivery, job.Name)
		errs = append(errs, t.create(ctx, b.Presubmit(job, refs)))
	}
	return errors.Join(errs...)
}

// presubmitRefs are the refs of a pull request's presubmits. As Prow's, every link comes from
// GitHub's html_url fields (the base repository's, the pull request's, its author's), never from
// a host written here, so they point at GitHub Enterprise when that is where the event came from.
func presubmitRefs(p pull) prowv1.Refs {
	return prowv1.Refs{
		Org: p.org, Repo: p.repo, RepoLink: p.repoLink,
		BaseRef: p.baseRef, BaseSHA: p.baseSHA, BaseLink: fmt.Sprintf("%s/commit/%s", p.repoLink, p.baseSHA),
		Pulls: []prowv1.Pull{{Number: p.number, Author: p.author, SHA: p.headSHA, Title: p.title, HeadRef: p.headRef,
			Link: p.link, CommitLink: fmt.Sprintf("%s/pull/%d/commits/%s", p.repoLink, p.number, p.headSHA),
			AuthorLink: p.authorLink}},
	}
}

func (t *Trigger) builder(c *config.Config, delivery, job string) jobs.Builder {
	b := jobs.NewBuilder(c)
	b.Clock = t.clock()
	name := uuid.NewSHA1(uuid.NameSpaceURL, []byte("prowl-delivery:"+delivery+"/"+job)).String()
	b.NewName = func() string { return name }
	return b
}

// create makes a ProwJob, retrying with backoff; one that exists already (the same delivery
// handled again) is done.
func (t *Trigger) create(ctx context.Context, pj *prowv1.ProwJob) error {
	b := t.Backoff
	if b.Steps == 0 {
		b = DefaultBackoff()
	}
	var last error
	err := backoff.Retry(ctx, t.clock(), b, func(ctx context.Context) (bool, error) {
		created := pj.DeepCopy()
		err := jobs.Create(ctx, t.Client, created)
		switch {
		case err == nil:
			t.Recorder.Created(created, events.Cause(ctx))
			ctrl.LoggerFrom(ctx).Info("created ProwJob", "job", pj.Spec.Job, "prowjob", pj.Name, "type", pj.Spec.Type)
			return true, nil
		case apierrors.IsAlreadyExists(err):
			return true, nil
		case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsForbidden(err):
			return false, err // retrying will not help
		}
		last = err
		return false, nil
	})
	if err != nil {
		if last != nil {
			err = last
		}
		return fmt.Errorf("create ProwJob for %s: %w", pj.Spec.Job, err)
	}
	return nil
}
