// Package events records Kubernetes Events (events.k8s.io/v1) on ProwJobs, so that `kubectl
// describe prowjob NAME` tells what each component did to a job and why. Each component has a
// Recorder of its own (its name is the Event's reportingController). Events go through
// client-go's events broadcaster, which folds repeats of the same Event into a series, and a
// per-object token bucket like client-go's record package's spam filter, so a job that loops
// cannot flood the API server.
package events

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	clientgoevents "k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"
	"k8s.io/utils/lru"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
)

// The token bucket of each object and component: client-go's record package's defaults (a
// burst of 25, then one Event per five minutes).
const (
	SpamBurst = 25
	SpamQPS   = 1.0 / 300
	// spamObjects is how many objects' buckets are remembered, as client-go's cache.
	spamObjects = 4096
)

// Reasons of the Events Prowl records (the Event's reason field), one per kind of step.
const (
	ReasonCreated         = "Created"         // Horologium or Trigger created the ProwJob
	ReasonPodCreated      = "PodCreated"      // Plank created the job's Pod
	ReasonStateChanged    = "StateChanged"    // Plank moved the job to another state
	ReasonRevived         = "Revived"         // Plank recreates a Pod that was evicted or vanished
	ReasonAborted         = "Aborted"         // a newer run, a user or a timeout aborted the job
	ReasonReported        = "Reported"        // Crier reported the state
	ReasonReportFailed    = "ReportFailed"    // Crier could not report it
	ReasonPodDeleted      = "PodDeleted"      // Sinker deleted the job's Pod
	ReasonDeleted         = "Deleted"         // Sinker deleted the job
	ReasonArtifactsAdded  = "ArtifactsAdded"  // the artifact completer wrote what the run lacked
	ReasonArtifactsFailed = "ArtifactsFailed" // the artifact completer cannot write the job's directory (its bucket cannot be opened)
)

// Provider makes event recorders: a controller-runtime manager or cluster is one.
type Provider interface {
	GetEventRecorder(name string) recorder.EventRecorder
}

// Recorder records one component's Events. A nil *Recorder records nothing, so that a
// component's tests and callers that set none need no change.
type Recorder struct {
	rec       clientgoevents.EventRecorder
	component string
	clock     clock.PassiveClock

	mu      sync.Mutex
	buckets *lru.Cache
}

// New is the Recorder of component (the reportingController: "plank", "sinker", ...) that
// sends Events through p; clk times the spam filter (nil: the real clock).
func New(p Provider, component string, clk clock.PassiveClock) *Recorder {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Recorder{rec: p.GetEventRecorder(component), component: component, clock: clk, buckets: lru.New(spamObjects)}
}

// NewForConfig is New for a component that runs no manager (Hook's Trigger): a client-go events
// broadcaster of its own, sending until ctx ends.
func NewForConfig(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, component string) (*Recorder, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("events client: %w", err)
	}
	b := clientgoevents.NewBroadcaster(&clientgoevents.EventSinkImpl{Interface: cs.EventsV1()})
	if err := b.StartRecordingToSinkWithContext(ctx); err != nil {
		return nil, fmt.Errorf("start recording events: %w", err)
	}
	go func() { <-ctx.Done(); b.Shutdown() }()
	return &Recorder{rec: b.NewRecorder(scheme, component), component: component, clock: clock.RealClock{}, buckets: lru.New(spamObjects)}, nil
}

// Normal records a Normal Event on obj: reason is one of the Reason constants, action what the
// component did (a verb in CamelCase), note the human-readable why (a format string).
func (r *Recorder) Normal(obj runtime.Object, reason, action, note string, args ...any) {
	r.record(obj, corev1.EventTypeNormal, reason, action, note, args...)
}

// Warning records a Warning Event on obj, for what went wrong.
func (r *Recorder) Warning(obj runtime.Object, reason, action, note string, args ...any) {
	r.record(obj, corev1.EventTypeWarning, reason, action, note, args...)
}

func (r *Recorder) record(obj runtime.Object, eventType, reason, action, note string, args ...any) {
	if r == nil || obj == nil || !r.allow(obj) {
		return
	}
	// events.k8s.io/v1 takes at most 1024 bytes of note.
	if len(args) > 0 {
		note = fmt.Sprintf(note, args...)
	}
	if len(note) > 1024 {
		note = note[:1021] + "..."
	}
	r.rec.Eventf(obj, nil, eventType, reason, action, "%s", note)
}

// allow takes a token from obj's bucket.
func (r *Recorder) allow(obj runtime.Object) bool {
	m, err := meta.Accessor(obj)
	if err != nil {
		return true
	}
	key := r.component + "/" + m.GetNamespace() + "/" + m.GetName() + "/" + string(m.GetUID())
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.buckets.Get(key)
	if !ok {
		b = flowcontrol.NewTokenBucketPassiveRateLimiterWithClock(SpamQPS, SpamBurst, r.clock)
		r.buckets.Add(key, b)
	}
	return b.(flowcontrol.PassiveRateLimiter).TryAccept()
}
