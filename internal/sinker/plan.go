package sinker

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/jobs"
)

// The reasons of Sinker's deletions, as Prow's metrics label them.
const (
	ReasonPodAged             = "aged"
	ReasonPodTTLed            = "ttled"
	ReasonPodOrphaned         = "orphaned"
	ReasonProwJobAged         = "aged"
	ReasonProwJobAgedPeriodic = "aged-periodic"
)

// orphanGrace: a Pod younger than this is never taken for an orphan, since the ProwJob cache may
// not have seen its ProwJob yet (Prow's 30 seconds).
const orphanGrace = 30 * time.Second

// ProwJobDeletion is a ProwJob that is due, and why.
type ProwJobDeletion struct {
	ProwJob *prowv1.ProwJob
	Reason  string
}

// PodDeletion is a Pod that is due, in a build cluster, and why. Orphan candidates are deleted
// only once a fresh read of their ProwJob finds it gone; Fallback is then the reason to delete
// one whose ProwJob is still there (its ProwJob was due in this pass but could not be deleted),
// "" for none.
type PodDeletion struct {
	Cluster  string
	Pod      *corev1.Pod
	ProwJob  *prowv1.ProwJob // nil for an orphan
	JobName  string          // the ProwJob the Pod belongs to
	Reason   string
	Orphan   bool
	Fallback string
}

// Plan is what a pass would delete.
type Plan struct {
	ProwJobs []ProwJobDeletion
	Pods     []PodDeletion
}

// PlanProwJobs picks the completed ProwJobs that started longer ago than max_prowjob_age, except
// for the newest run of each periodic still in the config, which Horologium needs to schedule
// the next. A ProwJob that is not complete is never picked. pjs are not changed.
func PlanProwJobs(cfg *config.Config, now time.Time, pjs []*prowv1.ProwJob) []ProwJobDeletion {
	maxAge := cfg.Sinker.MaxProwJobAge.Duration
	active := make(map[string]bool, len(cfg.Periodics))
	for i := range cfg.Periodics {
		active[cfg.Periodics[i].Name] = true
	}
	latest := map[string]*prowv1.ProwJob{}
	for _, pj := range pjs {
		if pj.Spec.Type != prowv1.PeriodicJob {
			continue
		}
		if cur, ok := latest[pj.Spec.Job]; !ok || jobs.Newer(pj, cur) {
			latest[pj.Spec.Job] = pj
		}
	}
	var out []ProwJobDeletion
	for _, pj := range pjs {
		if !pj.Complete() || now.Sub(pj.Status.StartTime.Time) <= maxAge {
			continue
		}
		reason := ReasonProwJobAged
		if pj.Spec.Type == prowv1.PeriodicJob {
			if active[pj.Spec.Job] && latest[pj.Spec.Job] == pj {
				continue
			}
			reason = ReasonProwJobAgedPeriodic
		}
		out = append(out, ProwJobDeletion{ProwJob: pj, Reason: reason})
	}
	return out
}

// PlanPods picks a build cluster's Pods that are due: aged (started longer ago than max_pod_age)
// or ttled (their ProwJob completed longer ago than terminated_pod_ttl), only where the ProwJob
// is in byName and complete, for Plank would recreate the Pod of one that is not; and, whatever
// their state, orphan candidates older than 30 s whose ProwJob is not in byName or is due
// (goingPJs). A Pod belongs to the ProwJob its prow.k8s.io/id label names, else to the one of
// its own name.
func PlanPods(cfg *config.Config, now time.Time, cluster string, pods []*corev1.Pod, byName map[string]*prowv1.ProwJob, goingPJs map[string]bool) []PodDeletion {
	maxPodAge, ttl := cfg.Sinker.MaxPodAge.Duration, cfg.Sinker.TerminatedPodTTL.Duration
	var out []PodDeletion
	for _, pod := range pods {
		name := pod.Name
		if id, ok := pod.Labels[prowv1.IDLabel]; ok {
			name = id
		}
		pj := byName[name]
		reason := ""
		if pj != nil && pj.Complete() {
			switch {
			case pod.Status.StartTime != nil && now.Sub(pod.Status.StartTime.Time) > maxPodAge:
				reason = ReasonPodAged
			case pj.Status.CompletionTime != nil && now.Sub(pj.Status.CompletionTime.Time) > ttl:
				reason = ReasonPodTTLed
			}
		}
		if (pj == nil || goingPJs[name]) && now.Sub(pod.CreationTimestamp.Time) > orphanGrace {
			out = append(out, PodDeletion{Cluster: cluster, Pod: pod, ProwJob: pj, JobName: name, Reason: ReasonPodOrphaned, Orphan: true, Fallback: reason})
			continue
		}
		if reason != "" {
			out = append(out, PodDeletion{Cluster: cluster, Pod: pod, ProwJob: pj, JobName: name, Reason: reason})
		}
	}
	return out
}
