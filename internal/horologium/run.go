package horologium

import (
	"context"
	"fmt"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/decorate"
	"github.com/prowl-ci/prowl/internal/events"
	"github.com/prowl-ci/prowl/internal/jobs"
)

// CacheLister lists a job's ProwJobs through the manager's cache index, without copying them.
type CacheLister struct {
	Reader    client.Reader
	Namespace func() string
}

// ProwJobsOf returns the cached ProwJobs of job; they are shared and must not be changed.
func (l CacheLister) ProwJobsOf(ctx context.Context, job string) ([]*prowv1.ProwJob, error) {
	var list prowv1.ProwJobList
	if err := l.Reader.List(ctx, &list, client.InNamespace(l.Namespace()), client.MatchingFields{JobIndex: job}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	out := make([]*prowv1.ProwJob, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// APICreator creates ProwJobs and reads the API server directly before it does.
type APICreator struct {
	Client    client.Client
	APIReader client.Reader
}

// Create creates pj, then writes its triggered status (status is a subresource: create drops
// it). A failed status write is left to Plank, which treats an empty state as triggered.
func (c APICreator) Create(ctx context.Context, pj *prowv1.ProwJob) error {
	return jobs.Create(ctx, c.Client, pj)
}

// LatestLive is the latest ProwJob of job according to the API server itself.
func (c APICreator) LatestLive(ctx context.Context, namespace, job string) (*prowv1.ProwJob, error) {
	var list prowv1.ProwJobList
	if err := c.APIReader.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabels{prowv1.JobLabel: decorate.JobLabelValue(job), prowv1.TypeLabel: string(prowv1.PeriodicJob)}); err != nil {
		return nil, err
	}
	var pjs []*prowv1.ProwJob
	for i := range list.Items {
		if list.Items[i].Spec.Job == job {
			pjs = append(pjs, &list.Items[i])
		}
	}
	return latest(pjs), nil
}

// runner runs passes at start, on every tick and on every config change, while this replica
// leads.
type runner struct {
	h            *Horologium
	configDeltas <-chan config.Delta
	clock        clock.WithTicker
}

// NeedLeaderElection keeps two replicas from both creating.
func (r *runner) NeedLeaderElection() bool { return true }

// Start runs until ctx ends.
func (r *runner) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("horologium")
	ctx = ctrl.LoggerInto(ctx, log)
	pass := func(why string) {
		start := r.clock.Now()
		n, err := r.h.Pass(ctx)
		if err != nil {
			log.Error(err, "pass left periodics unstarted; the next pass retries them", "reason", why)
		}
		log.V(1).Info("pass", "reason", why, "created", n, "took", r.clock.Since(start).String())
	}
	pass("start")
	tick := r.h.Config().Horologium.TickInterval.Duration
	ticker := r.clock.NewTicker(tick)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C():
			pass("tick")
		case d := <-r.configDeltas:
			log.Info("config changed", "added", len(d.Added), "removed", len(d.Removed), "changed", len(d.Changed))
			pass("config change")
		}
	}
}

// Setup adds Horologium to a manager: the cache index on spec.job and the runner, which runs only
// while the manager leads.
func Setup(ctx context.Context, mgr ctrl.Manager, agent *config.Agent, clk clock.WithTicker) (*Horologium, error) {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &prowv1.ProwJob{}, JobIndex, IndexJob); err != nil {
		return nil, fmt.Errorf("index prowjobs by job: %w", err)
	}
	h := &Horologium{
		Config:  agent.Config,
		Lister:  CacheLister{Reader: mgr.GetCache(), Namespace: func() string { return agent.Config().ProwJobNamespace }},
		Creator: APICreator{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader()},
		Clock:   clk,
		// Events are on wherever Horologium runs in a manager.
		Recorder: events.New(mgr, "horologium", clk),
	}
	deltas := make(chan config.Delta, 16)
	agent.Subscribe(deltas)
	if err := mgr.Add(&runner{h: h, configDeltas: deltas, clock: clk}); err != nil {
		return nil, err
	}
	return h, nil
}
