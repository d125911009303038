// Package switchtest checks the switch from Prow: a cluster whose ProwJobs live under Prow's own
// CRD (no status subresource) gets Prowl's CRD applied over it, and Prowl's Plank carries every job
// on. It has a control plane of its own because it starts with Prow's CRD, not Prowl's.
package switchtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/config/crd"
	"github.com/prowl-ci/prowl/internal/cli"
	"github.com/prowl-ci/prowl/internal/manager"
	"github.com/prowl-ci/prowl/internal/testutil"
)

var (
	cfg *rest.Config
	kc  client.Client
)

func TestMain(m *testing.M) {
	assets, err := testutil.ControlPlaneAssets()
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	if cfg, err = env.Start(); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	scheme, _ := manager.Scheme()
	_ = apiextensionsv1.AddToScheme(scheme)
	kc, _ = client.New(cfg, client.Options{Scheme: scheme})
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) { return ok(), nil }); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func established(t *testing.T, name string) {
	t.Helper()
	waitFor(t, "CRD "+name+" established", func() bool {
		c := &apiextensionsv1.CustomResourceDefinition{}
		if kc.Get(context.Background(), client.ObjectKey{Name: name}, c) != nil {
			return false
		}
		for _, cond := range c.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true
			}
		}
		return false
	})
}

func podSpec() *corev1.PodSpec {
	return &corev1.PodSpec{Containers: []corev1.Container{{Name: "test", Image: "alpine", Command: []string{"true"}}}}
}

// prowJob is a job as Prow left it: status written in the object itself (no subresource).
func prowJob(name string, state prowv1.ProwJobState, started time.Time, done bool) *prowv1.ProwJob {
	pj := &prowv1.ProwJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prow", Labels: map[string]string{prowv1.CreatedByProw: "true", prowv1.JobLabel: name, prowv1.TypeLabel: "periodic"}},
		Spec:       prowv1.ProwJobSpec{Type: prowv1.PeriodicJob, Job: name, Agent: prowv1.KubernetesAgent, Cluster: "default", Namespace: "test-pods", PodSpec: podSpec()},
		Status:     prowv1.ProwJobStatus{State: state, StartTime: metav1.NewTime(started)},
	}
	if state != prowv1.TriggeredState {
		pj.Status.PodName, pj.Status.BuildID = name, "1000"
	}
	if done {
		ct := metav1.NewTime(started.Add(time.Minute))
		pj.Status.CompletionTime = &ct
	}
	return pj
}

// TestSwitchFromProw: ProwJobs in every state under Prow's CRD; Prowl's CRD applied over it;
// Prowl's Plank started. Finished jobs keep their status, the pending job's running Pod is adopted
// (same UID, not recreated), the triggered job gets a Pod, and every job ends exactly once.
func TestSwitchFromProw(t *testing.T) {
	ctx := context.Background()
	upstream := prowCRD(t)
	if err := kc.Create(ctx, upstream); err != nil {
		t.Fatal(err)
	}
	established(t, upstream.Name)
	for _, ns := range []string{"prow", "test-pods"} {
		if err := kc.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	jobs := map[string]*prowv1.ProwJob{
		"finished":  prowJob("finished", prowv1.FailureState, start, true),
		"pending":   prowJob("pending", prowv1.PendingState, start, false),
		"triggered": prowJob("triggered", prowv1.TriggeredState, start, false),
		"aborted":   prowJob("aborted", prowv1.AbortedState, start, true),
	}
	for _, pj := range jobs {
		// Prow's CRD has no status subresource: a create keeps the status as given.
		if err := kc.Create(ctx, pj.DeepCopy()); err != nil {
			t.Fatal(err)
		}
	}
	running := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pending", Namespace: "test-pods", Labels: map[string]string{prowv1.CreatedByProw: "true", prowv1.JobLabel: "pending", prowv1.IDLabel: "pending"}}, Spec: *podSpec()}
	if err := kc.Create(ctx, running); err != nil {
		t.Fatal(err)
	}
	running.Status.Phase = corev1.PodRunning
	if err := kc.Status().Update(ctx, running); err != nil {
		t.Fatal(err)
	}

	applyProwlCRD(t)
	finishedBefore := get(t, "finished").Status
	states := watchStates(t)
	runPlank(t)

	waitFor(t, "the triggered job's Pod", func() bool { return get(t, "triggered").Status.State == prowv1.PendingState })
	adopted := &corev1.Pod{}
	if err := kc.Get(ctx, client.ObjectKeyFromObject(running), adopted); err != nil || adopted.UID != running.UID {
		t.Fatalf("the pending job's Pod was not adopted: %v (uid %s, was %s)", err, adopted.UID, running.UID)
	}
	for _, name := range []string{"pending", "triggered"} {
		kubeletSucceeds(t, name)
	}
	for _, name := range []string{"pending", "triggered"} {
		waitFor(t, name+" success", func() bool { return get(t, name).Status.State == prowv1.SuccessState })
	}
	if got := get(t, "finished").Status; !got.StartTime.Equal(&finishedBefore.StartTime) || got.State != prowv1.FailureState || !got.CompletionTime.Equal(finishedBefore.CompletionTime) {
		t.Errorf("the finished job's status changed: %+v, was %+v", got, finishedBefore)
	}
	if got := get(t, "aborted").Status.State; got != prowv1.AbortedState {
		t.Errorf("the aborted job is %s", got)
	}
	states.check(t)
}

func prowCRD(t *testing.T) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	raw, err := os.ReadFile(testutil.SharedTestdata(t, "prow", "upstream-prowjob-crd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.NewYAMLOrJSONDecoder(strings.NewReader(string(raw)), 4096).Decode(c); err != nil {
		t.Fatal(err)
	}
	if c.Spec.Versions[0].Subresources != nil && c.Spec.Versions[0].Subresources.Status != nil {
		t.Fatal("Prow's CRD is expected to have no status subresource")
	}
	return c
}

// applyProwlCRD replaces Prow's CRD spec with Prowl's, as `kubectl apply -k deploy/...` does.
func applyProwlCRD(t *testing.T) {
	t.Helper()
	ours, err := crd.ProwJobs()
	if err != nil {
		t.Fatal(err)
	}
	existing := &apiextensionsv1.CustomResourceDefinition{}
	if err := kc.Get(context.Background(), client.ObjectKey{Name: ours.Name}, existing); err != nil {
		t.Fatal(err)
	}
	existing.Spec = ours.Spec
	if err := kc.Update(context.Background(), existing); err != nil {
		t.Fatalf("apply Prowl's CRD over Prow's: %v", err)
	}
	established(t, ours.Name)
	// The status subresource is served once a status-only update leaves the spec alone.
	waitFor(t, "the status subresource", func() bool {
		pj := get(t, "finished")
		base := pj.DeepCopy()
		pj.Spec.Job = "changed-through-status"
		return kc.Status().Patch(context.Background(), pj, client.MergeFrom(base)) == nil && get(t, "finished").Spec.Job == "finished"
	})
}

func get(t *testing.T, name string) *prowv1.ProwJob {
	t.Helper()
	pj := &prowv1.ProwJob{}
	if err := kc.Get(context.Background(), client.ObjectKey{Namespace: "prow", Name: name}, pj); err != nil {
		t.Fatal(err)
	}
	return pj
}

func kubeletSucceeds(t *testing.T, name string) {
	t.Helper()
	pod := &corev1.Pod{}
	if err := kc.Get(context.Background(), client.ObjectKey{Namespace: "test-pods", Name: name}, pod); err != nil {
		t.Fatal(err)
	}
	pod.Status.Phase = corev1.PodSucceeded
	if err := kc.Status().Update(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
}

func runPlank(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	kcPath := filepath.Join(dir, "kubeconfig")
	c := clientcmdapi.NewConfig()
	c.Clusters["e"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	c.AuthInfos["e"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	c.Contexts["e"] = &clientcmdapi.Context{Cluster: "e", AuthInfo: "e"}
	c.CurrentContext = "e"
	if err := clientcmd.WriteToFile(*c, kcPath); err != nil {
		t.Fatal(err)
	}
	cfgPath, jobsPath := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs.yaml")
	_ = os.WriteFile(cfgPath, []byte("prowjob_namespace: prow\npod_namespace: test-pods\n"), 0o644)
	_ = os.WriteFile(jobsPath, []byte("periodics: []\n"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- cli.Execute(ctx, []string{"controller-manager", "--kubeconfig=" + kcPath, "--config-path=" + cfgPath, "--job-config-path=" + jobsPath,
			"--metrics-bind-address=0", "--health-probe-bind-address=0"}, &strings.Builder{}, os.Stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("Plank did not stop within 30s")
		}
	})
}

// stateLog records every state each ProwJob is seen in, from a watch.
type stateLog struct {
	mu   sync.Mutex
	seen map[string][]prowv1.ProwJobState
}

func watchStates(t *testing.T) *stateLog {
	t.Helper()
	wc, err := client.NewWithWatch(cfg, client.Options{Scheme: kc.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	w, err := wc.Watch(context.Background(), &prowv1.ProwJobList{}, client.InNamespace("prow"))
	if err != nil {
		t.Fatal(err)
	}
	l := &stateLog{seen: map[string][]prowv1.ProwJobState{}}
	go func() {
		for ev := range w.ResultChan() {
			if pj, ok := ev.Object.(*prowv1.ProwJob); ok {
				l.mu.Lock()
				s := l.seen[pj.Name]
				if len(s) == 0 || s[len(s)-1] != pj.Status.State {
					l.seen[pj.Name] = append(s, pj.Status.State)
				}
				l.mu.Unlock()
			}
		}
	}()
	t.Cleanup(w.Stop)
	return l
}

// check fails when a job left a final state once it was in one (it ended more than once).
func (l *stateLog) check(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	final := map[prowv1.ProwJobState]bool{prowv1.SuccessState: true, prowv1.FailureState: true, prowv1.AbortedState: true, prowv1.ErrorState: true}
	for name, states := range l.seen {
		for i, s := range states {
			if final[s] && i != len(states)-1 {
				t.Errorf("%s ended more than once: %v", name, states)
			}
		}
	}
}
