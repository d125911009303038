package artifacts

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	prowlconfig "github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/events"
	"github.com/prowl-ci/prowl/internal/podutils/metadata"
	"github.com/prowl-ci/prowl/internal/storage"
	"github.com/prowl-ci/prowl/internal/testutil/seedconfig"
)

// fakeGCS serves an in-process GCS (fake-gcs-server) on loopback with one bucket; it returns
// the JSON API's endpoint.
func fakeGCS(t *testing.T, bucket string) string {
	t.Helper()
	var handler http.Handler
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	server, err := fakestorage.NewServerWithOptions(fakestorage.Options{NoListener: true, PublicHost: srv.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	handler = server.HTTPHandler()
	srv.Start()
	t.Cleanup(srv.Close)
	server.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: bucket})
	return srv.URL + "/storage/v1/"
}

type harness struct {
	t     *testing.T
	ns    string
	clock *clocktesting.FakeClock
	store storage.Options
	ids   atomic.Int64
	// bucketRetry is the completer's BucketRetry (0: its default)
	bucketRetry time.Duration
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, ns: env.Namespace(t, "artifacts"), clock: clocktesting.NewFakeClock(time.Now())}
	h.store = storage.Options{GCSEndpoint: fakeGCS(t, "artifacts")}
	h.ids.Store(1000)
	return h
}

// Next hands out build IDs to the jobs that never had one.
func (h *harness) Next() string { return strconv.FormatInt(h.ids.Add(1), 10) }

// start runs a manager with the completer; replicas > 1 run that many at once.
func (h *harness) start(replicas int) {
	h.t.Helper()
	cfg := seedconfig.Load(h.t, h.ns, "", "")
	for range replicas {
		h.manager(cfg, true, nil)
	}
}

// manager runs a manager with the completer (when completer is set) and whatever extra sets up
// in it (Plank). It returns a function that stops the manager and waits until it has stopped.
func (h *harness) manager(cfg *prowlconfig.Config, completer bool, extra func(context.Context, ctrl.Manager) error) (stop func()) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	stop = func() { cancel(); <-done }
	h.t.Cleanup(cancel)
	skip := true
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: env.Scheme, Cache: cache.Options{DefaultNamespaces: map[string]cache.Config{h.ns: {}}},
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: &skip},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if completer {
		if _, err := Setup(mgr, Options{Config: func() *prowlconfig.Config { return cfg }, Clock: h.clock, Storage: h.store, BuildIDs: h, Workers: 4, BucketRetry: h.bucketRetry,
			Recorder: events.New(mgr, "artifacts", h.clock)}); err != nil {
			h.t.Fatal(err)
		}
	}
	if extra != nil {
		if err := extra(ctx, mgr); err != nil {
			h.t.Fatal(err)
		}
	}
	go func() { _ = mgr.Start(ctx); close(done) }()
	return stop
}

// bucket opens a bucket as the test's reader.
func (h *harness) bucket(name string) *blob.Bucket {
	h.t.Helper()
	b, err := storage.Open(context.Background(), name, h.store)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = b.Close() })
	return b
}

// job is one case: a ProwJob in a final state, what the pod utilities wrote, and its Pod.
type job struct {
	name        string
	state       prowv1.ProwJobState
	description string
	pod         *corev1.Pod // nil: none (never had one, or deleted)
	podName     bool        // status.pod_name set (it had a Pod)
	buildID     bool        // status.build_id set
	wrote       map[string]string
}

const startTS, completeTS = 1700000000, 1700000600

// create makes the ProwJob (and its Pod) with a bucket, and writes what the pod utilities wrote.
func (h *harness) create(j job, bucketName string) *prowv1.ProwJob {
	h.t.Helper()
	ctx := context.Background()
	name := j.name + "-" + strings.SplitN(bucketName, ":", 2)[0]
	pj := &prowv1.ProwJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.ns, Labels: map[string]string{prowv1.CreatedByProw: "true"}},
		Spec: prowv1.ProwJobSpec{Type: prowv1.PeriodicJob, Agent: prowv1.KubernetesAgent, Cluster: "default", Namespace: h.ns, Job: name,
			DecorationConfig: &prowv1.DecorationConfig{GCSConfiguration: &prowv1.GCSConfiguration{Bucket: bucketName, PathStrategy: "explicit"}}},
	}
	if err := env.Client.Create(ctx, pj); err != nil {
		h.t.Fatal(err)
	}
	if j.pod != nil {
		pod := j.pod.DeepCopy()
		pod.Name, pod.Namespace = name, h.ns
		status := pod.Status
		if err := env.Client.Create(ctx, pod); err != nil {
			h.t.Fatal(err)
		}
		h.setPod(pod, func(p *corev1.Pod) { p.Status = status })
		ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: name + ".1", Namespace: h.ns},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: h.ns, Name: name, UID: pod.UID},
			Reason:         "Testing", Message: "an event of the pod", Type: corev1.EventTypeNormal, Source: corev1.EventSource{Component: "test"}}
		if err := env.Client.Create(ctx, ev); err != nil {
			h.t.Fatal(err)
		}
	}
	build := ""
	if j.buildID {
		build = "42"
	}
	b := h.bucket(bucketName)
	for file, content := range j.wrote {
		if err := b.WriteAll(ctx, path.Join("logs", name, build, file), []byte(content), nil); err != nil {
			h.t.Fatal(err)
		}
	}
	start, done := metav1.Unix(startTS, 0), metav1.Unix(completeTS, 0)
	pj.Status = prowv1.ProwJobStatus{State: j.state, Description: j.description, StartTime: start, CompletionTime: &done, BuildID: build}
	if j.podName {
		pj.Status.PodName = name
	}
	if err := env.Client.Status().Update(ctx, pj); err != nil {
		h.t.Fatal(err)
	}
	return pj
}

// waitDone waits for the completer's annotation and returns the final ProwJob.
func (h *harness) waitDone(name string) *prowv1.ProwJob {
	h.t.Helper()
	pj := &prowv1.ProwJob{}
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: name}, pj); err != nil {
			return false, err
		}
		return pj.Annotations[CompletedAnnotation] == "true", nil
	})
	if err != nil {
		h.t.Fatalf("%s was not completed: %v", name, err)
	}
	return pj
}

// files reads the job's directory: name → content.
func (h *harness) files(bucketName string, pj *prowv1.ProwJob) map[string]string {
	h.t.Helper()
	b := h.bucket(bucketName)
	dir := path.Join("logs", pj.Spec.Job, pj.Status.BuildID) + "/"
	out := map[string]string{}
	it := b.List(&blob.ListOptions{Prefix: dir})
	for {
		obj, err := it.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			h.t.Fatal(err)
		}
		data, err := b.ReadAll(context.Background(), obj.Key)
		if err != nil {
			h.t.Fatal(err)
		}
		out[strings.TrimPrefix(obj.Key, dir)] = string(data)
	}
	return out
}

func names(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func ptr[T any](v T) *T { return &v }

const (
	sidecarStarted  = `{"timestamp":1700000000,"repos":{}}`
	sidecarFinished = `{"timestamp":1700000590,"passed":true,"result":"SUCCESS"}`
)

func testPod(phase corev1.PodPhase, status corev1.ContainerStatus) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{prowv1.CreatedByProw: "true"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "test", Image: "alpine"}}},
		Status:     corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{status}},
	}
}

// cases are the ways a run ends, each with the files its directory must hold afterwards. A
// result of "" means the sidecar's finished.json is kept as it was.
var cases = []struct {
	job    job
	files  []string
	result string
}{
	{job{name: "deleted-pod", state: prowv1.ErrorState, description: "The Pod disappeared and plank.max_revivals (3) is used up.",
		podName: true, buildID: true, wrote: map[string]string{StartedFile: sidecarStarted}},
		[]string{BuildLogFile, FinishedFile, ProwJobFile, StartedFile}, "ERROR"},
	{job{name: "evicted", state: prowv1.ErrorState, description: "The Pod was evicted or its node lost 4 times; plank.max_revivals is 3.",
		podName: true, buildID: true},
		[]string{BuildLogFile, FinishedFile, ProwJobFile, StartedFile}, "ERROR"},
	{job{name: "oom", state: prowv1.ErrorState, description: "Container test ran out of memory (OOMKilled).", podName: true, buildID: true,
		pod:   testPod(corev1.PodFailed, corev1.ContainerStatus{Name: "test", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}}}),
		wrote: map[string]string{StartedFile: sidecarStarted}},
		[]string{BuildLogFile, FinishedFile, PodInfoFile, ProwJobFile, StartedFile}, "ERROR"},
	{job{name: "error-before-start", state: prowv1.ErrorState, description: "The Pod did not start running within 10m0s (pod_pending_timeout).", podName: true, buildID: true,
		pod: testPod(corev1.PodPending, corev1.ContainerStatus{Name: "test", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull"}}})},
		[]string{BuildLogFile, FinishedFile, PodInfoFile, ProwJobFile, StartedFile}, "ERROR"},
	{job{name: "aborted-triggered", state: prowv1.AbortedState, description: "Aborted: the pull request was updated."},
		[]string{BuildLogFile, FinishedFile, ProwJobFile, StartedFile}, "ABORTED"},
	{job{name: "success", state: prowv1.SuccessState, description: "Job succeeded.", podName: true, buildID: true,
		pod:   testPod(corev1.PodSucceeded, corev1.ContainerStatus{Name: "test", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}),
		wrote: map[string]string{StartedFile: sidecarStarted, BuildLogFile: "the job's own output\n", FinishedFile: sidecarFinished}},
		[]string{BuildLogFile, FinishedFile, PodInfoFile, ProwJobFile, StartedFile}, ""},
}

// TestComplete checks every way a run ends, on a file bucket and on fake-gcs-server, with two
// replicas running at once: the exact files, what the pod utilities wrote kept as it was.
func TestComplete(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	buckets := []string{"file://" + t.TempDir(), "gs://artifacts"}
	h.start(2)
	for _, c := range cases {
		for _, bucket := range buckets {
			h.create(c.job, bucket)
		}
	}
	for _, c := range cases {
		for _, bucket := range buckets {
			t.Run(c.job.name+" "+strings.SplitN(bucket, ":", 2)[0], func(t *testing.T) {
				pj := h.waitDone(c.job.name + "-" + strings.SplitN(bucket, ":", 2)[0])
				files := h.files(bucket, pj)
				if diff := cmp.Diff(c.files, names(files)); diff != "" {
					t.Fatalf("files (-want +got):\n%s", diff)
				}
				for file, content := range c.job.wrote {
					if files[file] != content {
						t.Errorf("%s was overwritten: %s", file, files[file])
					}
				}
				checkFinished(t, files[FinishedFile], c.result)
				if _, ok := c.job.wrote[BuildLogFile]; !ok && !strings.Contains(files[BuildLogFile], "no build log was uploaded for this run. It ended "+string(c.job.state)+": "+c.job.description) {
					t.Errorf("build-log.txt of a run with none does not say how it ended: %q", files[BuildLogFile])
				}
				if _, ok := c.job.wrote[StartedFile]; !ok {
					checkStarted(t, files[StartedFile])
				}
				var written prowv1.ProwJob
				if err := json.Unmarshal([]byte(files[ProwJobFile]), &written); err != nil || written.Name != pj.Name || written.Status.State != c.job.state {
					t.Errorf("prowjob.json is not the final ProwJob: %v\n%s", err, files[ProwJobFile])
				}
				if c.job.pod != nil {
					checkPodInfo(t, files[PodInfoFile], pj.Name)
				}
			})
		}
	}
}

func checkFinished(t *testing.T, content, result string) {
	t.Helper()
	if result == "" {
		return
	}
	var f metadata.Finished
	if err := json.Unmarshal([]byte(content), &f); err != nil {
		t.Fatal(err)
	}
	want := metadata.Finished{Timestamp: ptr(int64(completeTS)), Passed: ptr(false), Result: result, Metadata: map[string]any{"uploader": "crier"}}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("finished.json (-want +got):\n%s", diff)
	}
}

func checkStarted(t *testing.T, content string) {
	t.Helper()
	var s metadata.Started
	if err := json.Unmarshal([]byte(content), &s); err != nil {
		t.Fatal(err)
	}
	if s.Timestamp != startTS || s.Metadata["uploader"] != "crier" {
		t.Errorf("started.json: %s", content)
	}
}

func checkPodInfo(t *testing.T, content, name string) {
	t.Helper()
	var r PodReport
	if err := json.Unmarshal([]byte(content), &r); err != nil {
		t.Fatal(err)
	}
	if r.Pod == nil || r.Pod.Name != name || len(r.Events) != 1 || r.Events[0].Message != "an event of the pod" {
		t.Errorf("podinfo.json: %s", content)
	}
}

// TestBucketThatCannotOpen: a job whose bucket cannot be opened waits, told in a Warning Event
// on the job, and is completed once the bucket opens; nothing is annotated meanwhile.
func TestBucketThatCannotOpen(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.bucketRetry = 100 * time.Millisecond
	blocker := filepath.Join(t.TempDir(), "bucket")
	if err := os.WriteFile(blocker, []byte("a file where the bucket's directory should be"), 0o644); err != nil {
		t.Fatal(err)
	}
	bucket := "file://" + blocker
	// The bucket's directory cannot be made while the file is there.
	pj := &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Name: "waits", Namespace: h.ns}, Spec: prowv1.ProwJobSpec{
		Type: prowv1.PeriodicJob, Agent: prowv1.KubernetesAgent, Cluster: "default", Namespace: h.ns, Job: "waits",
		DecorationConfig: &prowv1.DecorationConfig{GCSConfiguration: &prowv1.GCSConfiguration{Bucket: bucket, PathStrategy: "explicit"}}}}
	ctx := context.Background()
	if err := env.Client.Create(ctx, pj); err != nil {
		t.Fatal(err)
	}
	done := metav1.Unix(completeTS, 0)
	pj.Status = prowv1.ProwJobStatus{State: prowv1.ErrorState, StartTime: metav1.Unix(startTS, 0), CompletionTime: &done, BuildID: "7"}
	if err := env.Client.Status().Update(ctx, pj); err != nil {
		t.Fatal(err)
	}
	h.start(1)
	story := env.Story(t, pj, "ProwJob", 1)
	if !strings.Contains(story[0], "ArtifactsFailed") || !strings.Contains(story[0], "open bucket "+bucket) {
		t.Fatalf("the job's story does not say why its directory waits: %q", story)
	}
	got := &prowv1.ProwJob{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(pj), got); err != nil || got.Annotations[CompletedAnnotation] != "" {
		t.Fatalf("annotated while its bucket could not be opened: %v %v", err, got.Annotations)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	pj = h.waitDone("waits")
	if files := h.files(bucket, pj); files[FinishedFile] == "" || files[ProwJobFile] == "" {
		t.Errorf("the directory written once the bucket opened: %v", names(files))
	}
}
