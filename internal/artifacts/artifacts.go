// Package artifacts completes the artifact directory of every run, as Prow's Crier GCS reporter
// and pod-info reporter do: when a ProwJob reaches a final state it writes prowjob.json (the
// final ProwJob), podinfo.json (the Pod and its Events) where the Pod can still be read, and
// finished.json and started.json where the pod utilities did not (a Pod deleted, evicted past
// its revivals, OOM-killed, errored before it started, or a job aborted while triggered). Beyond
// Prow, a run left with no build-log.txt (it never ran, or its log was lost with its Pod) gets
// one saying so and how the run ended, so that every run's page has a log that explains it. Every
// file is created only where none exists, by the bucket's own precondition, so that what the
// pod utilities wrote is never overwritten and two replicas or a restart never write twice;
// once done, the ProwJob is annotated so that a restart does not look at it again.
package artifacts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"gocloud.dev/blob"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/downwardapi"
	"github.com/prowl-ci/prowl/internal/events"
	"github.com/prowl-ci/prowl/internal/podutils/gcsupload"
	"github.com/prowl-ci/prowl/internal/podutils/metadata"
	"github.com/prowl-ci/prowl/internal/podutils/options"
	"github.com/prowl-ci/prowl/internal/storage"
)

// CompletedAnnotation marks a ProwJob whose artifact directory is complete.
const CompletedAnnotation = prowv1.ArtifactsCompletedAnnotation

// The files this package writes, by Prow's names.
const (
	ProwJobFile  = "prowjob.json"
	PodInfoFile  = "podinfo.json"
	FinishedFile = "finished.json"
	StartedFile  = "started.json"
	BuildLogFile = "build-log.txt"
)

// Uploader is the value of metadata.uploader in the started.json and finished.json written
// here, as Prow's Crier writes it: tools tell them from the pod utilities' by it.
const Uploader = "crier"

// podGrace is how long after a job's completion its terminating Pod is waited for, so that its
// sidecar can write finished.json first.
const podGrace = 2 * time.Minute

// Options configure the completer.
type Options struct {
	Config func() *config.Config
	Clock  clock.PassiveClock
	// Storage holds the credentials (and, for emulators, the GCS endpoint) of the buckets.
	Storage storage.Options
	// BuildClusters are the clusters other than the manager's own, by alias, to read Pods from;
	// they must be added to the manager (Plank's Setup does).
	BuildClusters map[string]cluster.Cluster
	// BuildIDs hands out a build ID to a job that ended before Plank gave it one (aborted while
	// triggered), so that it gets a directory; nil leaves such jobs without one, as Prow does.
	BuildIDs interface{ Next() string }
	// Workers is how many ProwJobs are completed at once.
	Workers  int
	Recorder *events.Recorder
	// BucketRetry is how often a job whose bucket cannot be opened (no credentials, say) is
	// tried again (default 1 min). Its Pod stays meanwhile (the pod-info finalizer), so nothing is
	// lost while it waits.
	BucketRetry time.Duration
}

// Completer is the controller.
type Completer struct {
	Client client.Client
	// Live reads ProwJobs from the API server, where the cache may lag.
	Live     client.Reader
	clusters map[string]cluster.Cluster
	Options

	mu      sync.Mutex
	buckets map[string]*blob.Bucket
	down    map[string]string // buckets that could not be opened: the error last said
}

// bucketError is a bucket that could not be opened.
type bucketError struct {
	name string
	err  error
}

func (e *bucketError) Error() string { return fmt.Sprintf("open bucket %s: %v", e.name, e.err) }
func (e *bucketError) Unwrap() error { return e.err }

// Setup adds the completer to mgr, over the completed ProwJobs not yet annotated.
func Setup(mgr ctrl.Manager, o Options) (*Completer, error) {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.BucketRetry <= 0 {
		o.BucketRetry = time.Minute
	}
	c := &Completer{Client: mgr.GetClient(), Live: mgr.GetAPIReader(), Options: o, buckets: map[string]*blob.Bucket{}, down: map[string]string{},
		clusters: map[string]cluster.Cluster{prowv1.DefaultClusterAlias: mgr}}
	for name, bc := range o.BuildClusters {
		c.clusters[name] = bc
	}
	err := ctrl.NewControllerManagedBy(mgr).Named("artifacts").
		For(&prowv1.ProwJob{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(obj client.Object) bool {
			pj, ok := obj.(*prowv1.ProwJob)
			return ok && pj.Complete() && pj.Annotations[CompletedAnnotation] == ""
		}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(o.Workers, 1)}).
		Complete(c)
	if err != nil {
		return nil, err
	}
	if err := c.setupPodKeepers(mgr); err != nil {
		return nil, err
	}
	if err := mgr.Add(closer{c}); err != nil {
		return nil, err
	}
	return c, nil
}

// closer closes the open buckets when the manager stops.
type closer struct{ c *Completer }

func (cl closer) NeedLeaderElection() bool { return false }

func (cl closer) Start(ctx context.Context) error {
	<-ctx.Done()
	cl.c.mu.Lock()
	defer cl.c.mu.Unlock()
	for name, b := range cl.c.buckets {
		_ = b.Close()
		delete(cl.c.buckets, name)
	}
	return nil
}

// Reconcile completes one ProwJob's directory, then annotates it (which has the pod keeper
// release the Pod's finalizer). It requeues while the job's Pod is still terminating with
// containers running (within podGrace of the completion), so that the sidecar goes first.
func (c *Completer) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	pj := &prowv1.ProwJob{}
	if err := c.Client.Get(ctx, req.NamespacedName, pj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !pj.Complete() || pj.Annotations[CompletedAnnotation] != "" {
		return ctrl.Result{}, nil
	}
	gcs := c.gcsConfig(pj)
	if gcs == nil || gcs.Bucket == "" {
		return ctrl.Result{}, nil // not decorated and no default: nowhere to write
	}
	if pj.Status.BuildID == "" {
		return ctrl.Result{}, c.giveBuildID(ctx, pj)
	}
	log := logr.FromContextOrDiscard(ctx).WithValues("prowjob", pj.Name, "job", pj.Spec.Job)
	pod, err := c.pod(ctx, pj)
	if err != nil {
		return ctrl.Result{}, err
	}
	if pod != nil && pod.DeletionTimestamp != nil && !podDone(pod) {
		if wait := pj.Status.CompletionTime.Add(podGrace).Sub(c.Clock.Now()); wait > 0 {
			return ctrl.Result{RequeueAfter: min(wait, 5*time.Second)}, nil
		}
	}
	written, err := c.complete(ctx, pj, gcs, pod)
	var down *bucketError
	if errors.As(err, &down) {
		c.Recorder.Warning(pj, events.ReasonArtifactsFailed, "WriteArtifacts", "Cannot write the artifact directory: %v. Retried every %v.", down, c.BucketRetry)
		return ctrl.Result{RequeueAfter: c.BucketRetry}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if len(written) > 0 {
		log.Info("completed the artifact directory", "wrote", written)
		c.Recorder.Normal(pj, events.ReasonArtifactsAdded, "WriteArtifacts", "Wrote %s to %s.", strings.Join(written, ", "), gcs.Bucket)
	}
	patch := client.MergeFrom(pj.DeepCopy())
	if pj.Annotations == nil {
		pj.Annotations = map[string]string{}
	}
	pj.Annotations[CompletedAnnotation] = "true"
	if err := c.Client.Patch(ctx, pj, patch); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("annotate %s: %w", pj.Name, err)
	}
	return ctrl.Result{}, nil
}

// giveBuildID gives a job that never had a Pod a build ID; its update brings it back here. The
// optimistic lock keeps two replicas from giving it two.
func (c *Completer) giveBuildID(ctx context.Context, pj *prowv1.ProwJob) error {
	if c.BuildIDs == nil {
		return nil
	}
	base := pj.DeepCopy()
	pj.Status.BuildID = c.BuildIDs.Next()
	err := c.Client.Status().Patch(ctx, pj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("give %s a build ID: %w", pj.Name, err)
	}
	return nil
}

// podDone says whether a Pod's containers have all stopped: its phase is final.
func podDone(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// gcsConfig is where the job's artifacts go: its decoration config's, else the plank default
// for its repository and cluster (Prow's guess for undecorated jobs).
func (c *Completer) gcsConfig(pj *prowv1.ProwJob) *prowv1.GCSConfiguration {
	if dc := pj.Spec.DecorationConfig; dc != nil && dc.GCSConfiguration != nil {
		return dc.GCSConfiguration
	}
	repo := ""
	switch {
	case pj.Spec.Refs != nil:
		repo = pj.Spec.Refs.Org + "/" + pj.Spec.Refs.Repo
	case len(pj.Spec.ExtraRefs) > 0:
		repo = pj.Spec.ExtraRefs[0].Org + "/" + pj.Spec.ExtraRefs[0].Repo
	}
	cfg := c.Config()
	if dc := cfg.Plank.DecorationDefaults(repo, pj.Spec.Cluster); dc != nil {
		return dc.GCSConfiguration
	}
	return nil
}

// pod is the job's Pod from its build cluster's cache, nil where it has none or it is gone.
func (c *Completer) pod(ctx context.Context, pj *prowv1.ProwJob) (*corev1.Pod, error) {
	if pj.Spec.Agent != prowv1.KubernetesAgent || pj.Status.PodName == "" {
		return nil, nil
	}
	cl, ok := c.clusters[clusterOf(pj)]
	if !ok {
		return nil, nil
	}
	pod := &corev1.Pod{}
	err := cl.GetClient().Get(ctx, client.ObjectKey{Namespace: pj.Spec.Namespace, Name: pj.Status.PodName}, pod)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get pod %s of %s: %w", pj.Status.PodName, pj.Name, err)
	}
	return pod, nil
}

// bucket opens a bucket once and keeps it. It opens it without the lock, so that a bucket slow
// to open (its credentials looked up over the network, say) holds up no job of another bucket.
// A bucket that cannot be opened is logged once, and again only when the reason changes: every
// job that writes there meets the same error at every retry.
func (c *Completer) bucket(ctx context.Context, name string) (*blob.Bucket, error) {
	c.mu.Lock()
	b, ok := c.buckets[name]
	c.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := storage.Open(ctx, name, c.Storage)
	log := logr.FromContextOrDiscard(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		down := &bucketError{name: name, err: err}
		if c.down[name] != down.Error() {
			c.down[name] = down.Error()
			log.Error(down, "cannot write artifact directories to this bucket; the jobs that use it wait and are retried", "bucket", name, "every", c.BucketRetry.String())
		}
		return nil, down
	}
	if kept, ok := c.buckets[name]; ok { // another worker opened it meanwhile
		_ = b.Close()
		return kept, nil
	}
	if _, was := c.down[name]; was {
		log.Info("bucket opened; the jobs that waited for it are completed now", "bucket", name)
		delete(c.down, name)
	}
	c.buckets[name] = b
	return b, nil
}

// complete writes the files the job's directory lacks and returns their names.
func (c *Completer) complete(ctx context.Context, pj *prowv1.ProwJob, gcs *prowv1.GCSConfiguration, pod *corev1.Pod) ([]string, error) {
	b, err := c.bucket(ctx, gcs.Bucket)
	if err != nil {
		return nil, err
	}
	spec := downwardapi.NewJobSpec(pj.Spec, pj.Status.BuildID, pj.Name)
	t, err := gcsupload.ForBucket(b, &options.GCSUpload{GCSConfiguration: gcs}, spec)
	if err != nil {
		return nil, fmt.Errorf("job directory of %s: %w", pj.Name, err)
	}
	files, err := c.files(ctx, pj, spec, pod)
	if err != nil {
		return nil, err
	}
	var written []string
	var errs []error
	for _, f := range files {
		ok, err := storage.CreateIfAbsent(ctx, b, t.Key(f.name), f.data, storage.ContentType(f.name, t.MediaTypes))
		if err != nil {
			errs = append(errs, fmt.Errorf("job %s: %w", pj.Spec.Job, err))
		}
		if ok {
			written = append(written, f.name)
		}
	}
	return written, errors.Join(errs...)
}

type file struct {
	name string
	data []byte
}

// files are the job's files in the order they are written: started.json and build-log.txt before
// finished.json (a reader that sees finished.json finds the others), prowjob.json last.
func (c *Completer) files(ctx context.Context, pj *prowv1.ProwJob, spec downwardapi.JobSpec, pod *corev1.Pod) ([]file, error) {
	started := metadata.NewStarted(spec, nil, pj.Status.StartTime.Unix())
	started.Metadata = map[string]any{"uploader": Uploader}
	completion := pj.Status.CompletionTime.Unix()
	passed := pj.Status.State == prowv1.SuccessState
	finished := metadata.Finished{Timestamp: &completion, Passed: &passed, Result: strings.ToUpper(string(pj.Status.State)),
		Revision: metadata.Revision(spec, nil), Metadata: map[string]any{"uploader": Uploader}}
	out := []file{}
	add := func(name string, v any) error {
		data, err := json.MarshalIndent(v, "", "\t")
		if err != nil {
			return fmt.Errorf("%s of %s: %w", name, pj.Name, err)
		}
		out = append(out, file{name, data})
		return nil
	}
	if err := add(StartedFile, started); err != nil {
		return nil, err
	}
	out = append(out, file{BuildLogFile, []byte(fmt.Sprintf("prowl: no build log was uploaded for this run. It ended %s: %s\n", pj.Status.State, pj.Status.Description))})
	if err := add(FinishedFile, finished); err != nil {
		return nil, err
	}
	if pod != nil {
		info, err := c.podInfo(ctx, pj, pod)
		if err != nil {
			return nil, err
		}
		if err := add(PodInfoFile, info); err != nil {
			return nil, err
		}
	}
	return out, add(ProwJobFile, pj)
}

// PodReport is podinfo.json, as Prow's pod-info reporter writes it.
type PodReport struct {
	Pod    *corev1.Pod    `json:"pod,omitempty"`
	Events []corev1.Event `json:"events,omitempty"`
}

// podInfo is the Pod with its Events, read from its build cluster's API server.
func (c *Completer) podInfo(ctx context.Context, pj *prowv1.ProwJob, pod *corev1.Pod) (PodReport, error) {
	var list corev1.EventList
	err := c.clusters[clusterOf(pj)].GetAPIReader().List(ctx, &list, client.InNamespace(pod.Namespace),
		client.MatchingFields{"involvedObject.name": pod.Name, "involvedObject.uid": string(pod.UID)})
	if err != nil {
		return PodReport{}, fmt.Errorf("events of pod %s: %w", pod.Name, err)
	}
	p := pod.DeepCopy()
	p.ManagedFields = nil
	return PodReport{Pod: p, Events: list.Items}, nil
}
