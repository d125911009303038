// Package horologium starts periodic jobs: on a tick, at start and on every config change, it
// creates a ProwJob for each periodic that is due. It keeps no state of its own that decides
// anything: whether a job is due comes from its latest ProwJob, so a restart or a new leader
// picks up where the last left off.
package horologium

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/backoff"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/events"
	"github.com/prowl-ci/prowl/internal/jobs"
)

// JobIndex is the cache index of ProwJobs by spec.job.
const JobIndex = "spec.job"

// IndexJob is the index function of JobIndex.
func IndexJob(obj client.Object) []string {
	pj, ok := obj.(*prowv1.ProwJob)
	if !ok || pj.Spec.Type != prowv1.PeriodicJob {
		return nil
	}
	return []string{pj.Spec.Job}
}

// Lister finds the ProwJobs of one job from a cache; the objects are shared and must not be changed.
type Lister interface {
	ProwJobsOf(ctx context.Context, job string) ([]*prowv1.ProwJob, error)
}

// Creator creates ProwJobs, and checks the API server itself before creating, so that a cache
// that has not yet seen a recent create cannot cause a second one.
type Creator interface {
	Create(ctx context.Context, pj *prowv1.ProwJob) error
	LatestLive(ctx context.Context, namespace, job string) (*prowv1.ProwJob, error)
}

var skippedFirings = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "prowl_horologium_skipped_cron_firings_total",
	Help: "Cron firings of periodic jobs that started nothing because the previous run was still going.",
}, []string{"job"})

var created = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "prowl_horologium_prowjobs_created_total",
	Help: "ProwJobs Horologium created, by job.",
}, []string{"job"})

func init() { ctrlmetrics.Registry.MustRegister(skippedFirings, created) }

// Horologium decides which periodics are due and starts them.
type Horologium struct {
	Config  func() *config.Config
	Lister  Lister
	Creator Creator
	// Clock decides what is due and times the create retries.
	Clock clock.Clock
	// NewName names new ProwJobs (tests fix it); a UUID by default.
	NewName func() string
	// Recorder records each creation on the new ProwJob; nil records none.
	Recorder *events.Recorder

	mu sync.Mutex
	// firstSeen is when a cron periodic with no run yet was first seen: it starts at the first
	// firing after that. This alone is lost on restart, and only delays a job that never ran.
	firstSeen map[string]time.Time
	// skipped remembers the firings already counted as skipped, so each counts once.
	skipped map[string]time.Time
}

// latest is the most recent run: by startTime, creationTimestamp standing in where Plank has
// not set it yet.
func latest(pjs []*prowv1.ProwJob) *prowv1.ProwJob {
	var best *prowv1.ProwJob
	for _, pj := range pjs {
		if best == nil || jobs.Newer(pj, best) {
			best = pj
		}
	}
	return best
}

// Pass checks every periodic once and creates the ProwJobs that are due. It returns how many it
// created and the errors of those it could not.
func (h *Horologium) Pass(ctx context.Context) (int, error) {
	log := logr.FromContextOrDiscard(ctx)
	cfg := h.Config()
	now := h.Clock.Now()
	h.mu.Lock()
	if h.firstSeen == nil {
		h.firstSeen, h.skipped = map[string]time.Time{}, map[string]time.Time{}
	}
	h.mu.Unlock()
	n := 0
	var errs []error
	for i := range cfg.Periodics {
		p := &cfg.Periodics[i]
		pjs, err := h.Lister.ProwJobsOf(ctx, p.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("list prowjobs of %s: %w", p.Name, err))
			continue
		}
		if !h.due(ctx, p, latest(pjs), now) {
			continue
		}
		// The cache may lag a create of a moment ago: ask the API server before creating.
		live, err := h.Creator.LatestLive(ctx, cfg.ProwJobNamespace, p.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("check %s before creating: %w", p.Name, err))
			continue
		}
		if !h.due(ctx, p, live, now) {
			continue
		}
		if err := h.create(events.WithCause(ctx, events.PeriodicWhy(p, live == nil)), cfg, p); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
		log.Info("started periodic", "job", p.Name)
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("%d periodics not started: %v", len(errs), errs)
	}
	return n, nil
}

// due decides whether p should start now, given its latest run.
func (h *Horologium) due(ctx context.Context, p *config.Periodic, last *prowv1.ProwJob, now time.Time) bool {
	switch {
	case p.GetInterval() > 0:
		return last == nil || (last.Complete() && !now.Before(jobs.Started(last).Add(p.GetInterval())))
	case p.GetMinimumInterval() > 0:
		return last == nil || (last.Complete() && !now.Before(last.Status.CompletionTime.Add(p.GetMinimumInterval())))
	case p.Schedule() != nil:
		return h.cronDue(ctx, p, last, now)
	}
	return false
}

// cronDue: the schedule's latest firing at or before now must come after the last run started,
// and find it complete. A firing that found it running is skipped, logged and counted, and never
// made up for later.
func (h *Horologium) cronDue(ctx context.Context, p *config.Periodic, last *prowv1.ProwJob, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	var since time.Time
	if last == nil {
		first, ok := h.firstSeen[p.Name]
		if !ok {
			h.firstSeen[p.Name] = now
			first = now
		}
		since = first.Add(-time.Nanosecond)
	} else {
		since = jobs.Started(last)
	}
	firing, ok := latestFiring(p, since, now)
	if !ok {
		return false
	}
	if last == nil {
		return true
	}
	if last.Complete() && !last.Status.CompletionTime.After(firing) {
		return true
	}
	if h.skipped[p.Name] != firing {
		h.skipped[p.Name] = firing
		skippedFirings.WithLabelValues(p.Name).Inc()
		logr.FromContextOrDiscard(ctx).Info("skipped a cron firing: the previous run was still going", "job", p.Name, "firing", firing)
	}
	return false
}

// latestFiring is the schedule's last firing in (after, now], if any.
// A schedule that never fires (robfig/cron returns the zero time then) has no firing.
func latestFiring(p *config.Periodic, after, now time.Time) (time.Time, bool) {
	next := p.Schedule().Next(after.UTC())
	if next.IsZero() || next.After(now) {
		return time.Time{}, false
	}
	for {
		following := p.Schedule().Next(next)
		if following.IsZero() || !following.After(next) || following.After(now) {
			return next, true
		}
		next = following
	}
}

// createBackoff retries a create for about 3 seconds.
func createBackoff() wait.Backoff {
	return wait.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Steps: 4}
}

// create builds the ProwJob with the same builder as `prowl mkpj` and creates it, retrying
// transient errors with backoff.
func (h *Horologium) create(ctx context.Context, cfg *config.Config, p *config.Periodic) error {
	b := jobs.NewBuilder(cfg)
	b.Clock = h.Clock
	if h.NewName != nil {
		b.NewName = h.NewName
	}
	pj := b.Periodic(p)
	var lastErr error
	err := backoff.Retry(ctx, h.Clock, createBackoff(), func(ctx context.Context) (bool, error) {
		lastErr = h.Creator.Create(ctx, pj)
		return lastErr == nil, nil
	})
	if err != nil {
		return fmt.Errorf("create prowjob for %s: %w", p.Name, errors.Join(err, lastErr))
	}
	created.WithLabelValues(p.Name).Inc()
	h.Recorder.Created(pj, events.Cause(ctx))
	return nil
}
