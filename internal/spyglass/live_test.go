package spyglass

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/downwardapi"
)

// fakeKubelet is a node's log endpoint, served here so the test decides when lines come and
// when the container ends. Everything between it and the page is real: the kube-apiserver
// proxies the Pod log request to it, and client-go streams it.
type fakeKubelet struct {
	lines chan string
	srv   *httptest.Server
}

func newFakeKubelet(t *testing.T) *fakeKubelet {
	k := &fakeKubelet{lines: make(chan string, 100)}
	k.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/containerLogs/") || r.URL.Query().Get("follow") != "true" {
			http.Error(w, "unexpected "+r.URL.String(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		for {
			select {
			case l, ok := <-k.lines:
				if !ok {
					return
				}
				fmt.Fprintln(w, l)
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(k.srv.Close)
	return k
}

// liveJob is a pending ProwJob whose Pod runs on a Node whose log endpoint is the fake kubelet.
type liveJob struct {
	pj   *prowv1.ProwJob
	spec downwardapi.JobSpec
	dir  string
}

func startLiveJob(t *testing.T, be testBackend, k *fakeKubelet, job string, withPod bool) (*liveJob, string, string) {
	t.Helper()
	ctx := context.Background()
	pjNS, podNS := env.Namespace(t, "prowjobs"), env.Namespace(t, "pods")
	if k != nil {
		_, portStr, _ := net.SplitHostPort(k.srv.Listener.Addr().String())
		port, _ := strconv.Atoi(portStr)
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-" + podNS}}
		if err := env.Client.Create(ctx, node); err != nil {
			t.Fatal(err)
		}
		node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: "127.0.0.1"}}
		node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
		if err := env.Client.Status().Update(ctx, node); err != nil {
			t.Fatal(err)
		}
		if withPod {
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: podNS}}
			if err := env.Client.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
			no := false
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: job + "-pod", Namespace: podNS}, Spec: corev1.PodSpec{
				NodeName: node.Name, AutomountServiceAccountToken: &no,
				Containers: []corev1.Container{{Name: "test", Image: "busybox"}, {Name: "sidecar", Image: "sidecar"}}}}
			if err := env.Client.Create(ctx, pod); err != nil {
				t.Fatal(err)
			}
		}
	}
	spec := periodic(job, "777")
	gcs := &prowv1.GCSConfiguration{Bucket: be.bucket, PathStrategy: "explicit"}
	pj := &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Name: job + "-pj", Namespace: pjNS, Labels: map[string]string{prowv1.BuildIDLabel: "777", prowv1.JobLabel: job}},
		Spec: prowv1.ProwJobSpec{Type: prowv1.PeriodicJob, Agent: "kubernetes", Job: job, DecorationConfig: &prowv1.DecorationConfig{GCSConfiguration: gcs}}}
	if err := env.Client.Create(ctx, pj); err != nil {
		t.Fatal(err)
	}
	pj.Status = prowv1.ProwJobStatus{State: prowv1.PendingState, StartTime: metav1.NewTime(time.Unix(1700000000, 0)), PodName: job + "-pod", BuildID: "777"}
	if err := env.Client.Status().Update(ctx, pj); err != nil {
		t.Fatal(err)
	}
	return &liveJob{pj: pj, spec: spec}, pjNS, podNS
}

func (lj *liveJob) finish(t *testing.T, be testBackend, log string) {
	t.Helper()
	lj.dir = makeRun(t, be, testRun{spec: lj.spec, log: log, exitCode: "1"})
	lj.pj.Status.State = prowv1.FailureState
	now := metav1.NewTime(time.Unix(1700000095, 0))
	lj.pj.Status.CompletionTime = &now
	if err := env.Client.Status().Update(context.Background(), lj.pj); err != nil {
		t.Fatal(err)
	}
}

func liveServer(t *testing.T, be testBackend, pjNS, podNS string) *server {
	cfg := testConfig(be.bucket, "")
	cfg.ProwJobNamespace, cfg.PodNamespace = pjNS, podNS
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return newServer(t, be, cfg, Options{ProwJobs: env.Client, PodLogs: ClusterPodLogs{"default": cs}})
}

// sseReader reads Server-Sent Events.
type sseReader struct{ r *bufio.Reader }

func (s sseReader) next(t *testing.T) (string, string) {
	t.Helper()
	var event, data string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("event stream ended: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			return event, data
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
}

// TestLiveLogThenBucket follows a running job's test container through the Pod log API, and
// once the job ends, the build log section is the bucket's build-log.txt.
func TestLiveLogThenBucket(t *testing.T) {
	be := fileBackend(t)
	k := newFakeKubelet(t)
	lj, pjNS, podNS := startLiveJob(t, be, k, "live-job", true)
	s := liveServer(t, be, pjNS, podNS)
	code, page := s.get(t, "/view/prowjob/"+lj.pj.Name)
	if code != 200 || !strings.Contains(page, `data-live="/spyglass/live/`) || !strings.Contains(page, "pending") {
		t.Fatalf("running job's page = %d:\n%s", code, page)
	}
	resp, err := http.Get(s.URL + "/spyglass/live/prowjob/live-job/777")
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("live = %v %v", resp, err)
	}
	defer resp.Body.Close()
	events := sseReader{bufio.NewReader(resp.Body)}
	k.lines <- "compiling <widgets>"
	if ev, data := events.next(t); ev != "line" || !strings.Contains(data, `id="L1"`) || !strings.Contains(data, "compiling &lt;widgets&gt;") {
		t.Fatalf("first event %s %s", ev, data)
	}
	k.lines <- "ERROR: widget exploded"
	if ev, data := events.next(t); ev != "line" || !strings.Contains(data, `<span class="hl">ERROR:</span>`) || !strings.Contains(data, `id="L2"`) {
		t.Fatalf("second event %s %s", ev, data)
	}
	close(k.lines)
	if ev, data := events.next(t); ev != "end" || data != "the container ended" {
		t.Fatalf("end event %s %s", ev, data)
	}
	fragment := "/spyglass/buildlog/prowjob/" + lj.pj.Name
	if code, _ := s.get(t, fragment); code != http.StatusAccepted {
		t.Errorf("before the upload the fragment = %d, want 202", code)
	}
	lj.finish(t, be, "compiling <widgets>\nERROR: widget exploded\n")
	code, body := s.get(t, fragment)
	if code != 200 || !strings.Contains(body, "build-log.txt") || !strings.Contains(body, `<span class="hl">ERROR:</span> widget exploded`) || strings.Contains(body, "data-live") {
		t.Errorf("after the upload the fragment = %d:\n%s", code, body)
	}
}

// TestPodGoneShowsBucketLog: a pending job whose Pod is gone shows its log from the bucket, not
// "pod not found" (Prow #27420).
func TestPodGoneShowsBucketLog(t *testing.T) {
	be := fileBackend(t)
	k := newFakeKubelet(t)
	lj, pjNS, podNS := startLiveJob(t, be, k, "gone-job", false)
	makeRun(t, be, testRun{spec: lj.spec, log: "uploaded before the Pod went\n"})
	// Without finished.json the job still looks live; the stream says the Pod is not there.
	if err := be.blob(t).Delete(context.Background(), "logs/gone-job/777/finished.json"); err != nil {
		t.Fatal(err)
	}
	s := liveServer(t, be, pjNS, podNS)
	resp, err := http.Get(s.URL + "/spyglass/live/" + src(be, "logs/gone-job/777"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ev, data := (sseReader{bufio.NewReader(resp.Body)}).next(t); ev != "end" || !strings.Contains(data, "not available") {
		t.Fatalf("event %s %s", ev, data)
	}
	code, body := s.get(t, "/spyglass/buildlog/"+src(be, "logs/gone-job/777")+"?force=1")
	if code != 200 || !strings.Contains(body, "uploaded before the Pod went") {
		t.Errorf("force fragment = %d:\n%s", code, body)
	}
}
