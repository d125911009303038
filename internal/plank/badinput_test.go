package plank

import (
	"context"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// reconcileTotal is how many reconciles the plank controllers of this process have run.
func reconcileTotal(t *testing.T) float64 {
	t.Helper()
	mfs, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabel(m, "controller", "plank") {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// TestBadProwJobs creates, through the API server, ProwJobs that Plank cannot run. Each ends in
// error with a description that says why, written once, with no requeue loop; the API server
// refuses what it must; and a good job created after them all still runs.
//
// It does not call t.Parallel: it counts the reconciles of every plank controller in the test
// binary, so it runs alone, before the parallel tests start.
func TestBadProwJobs(t *testing.T) {
	// An absurd plank.pod_running_timeout (228 years): jobs still run, and requeue at it.
	h := newHarness(t, "  pod_running_timeout: 2000000h\n")
	before := reconcileTotal(t)
	negative := &metav1.Duration{Duration: -5 * time.Minute}
	bad := map[string]struct {
		mutate func(*prowv1.ProwJob)
		want   string
	}{
		"no-containers":   {func(pj *prowv1.ProwJob) { pj.Spec.PodSpec.Containers = []corev1.Container{} }, "containers is empty"},
		"unknown-agent":   {func(pj *prowv1.ProwJob) { pj.Spec.Agent = "no-such-agent" }, `Agent "no-such-agent" is not one Prow runs`},
		"unknown-cluster": {func(pj *prowv1.ProwJob) { pj.Spec.Cluster = "mars" }, `"mars" is not known`},
		"negative-timeout": {func(pj *prowv1.ProwJob) {
			pj.Spec.DecorationConfig = &prowv1.DecorationConfig{Timeout: &prowv1.Duration{Duration: -time.Hour}}
		}, "decoration_config.timeout is -1h0m0s"},
		"negative-pending": {func(pj *prowv1.ProwJob) {
			pj.Spec.DecorationConfig = &prowv1.DecorationConfig{PodPendingTimeout: negative}
		}, "decoration_config.pod_pending_timeout is -5m0s"},
		"pod-refused": {func(pj *prowv1.ProwJob) {
			pj.Spec.PodSpec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "missing", MountPath: "/m"}}
		}, "The API server refused the Pod"},
	}
	for name, tc := range bad {
		h.create(name, tc.mutate)
	}
	long := strings.Repeat("j", 300)
	h.create("long-job", func(pj *prowv1.ProwJob) { pj.Spec.Job = long })
	h.create("absurd-timeout", nil)
	pj := &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Name: strings.Repeat("n", 300), Namespace: h.ns}, Spec: prowv1.ProwJobSpec{Agent: prowv1.KubernetesAgent}}
	if err := env.Client.Create(context.Background(), pj); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "metadata.name") {
		t.Errorf("a ProwJob named with 300 characters: %v, want the API server to refuse metadata.name", err)
	}
	unparsable := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "prow.k8s.io/v1", "kind": "ProwJob",
		"metadata": map[string]any{"name": "unparsable-timeout", "namespace": h.ns},
		"spec": map[string]any{"agent": "kubernetes", "type": "periodic", "job": "x", "namespace": h.ns, "cluster": "default",
			"pod_spec":          map[string]any{"containers": []any{map[string]any{"image": "alpine"}}},
			"decoration_config": map[string]any{"pod_running_timeout": "9999999999h"}}}}
	if err := env.Client.Create(context.Background(), unparsable); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "pod_running_timeout") {
		t.Errorf("a timeout that is no duration: %v, want the API server to refuse it", err)
	}
	versions := map[string]string{}
	for name, tc := range bad {
		got := h.waitState(name, prowv1.ErrorState)
		if !strings.Contains(got.Status.Description, tc.want) || got.Status.CompletionTime == nil {
			t.Errorf("%s: %+v, want a description with %q", name, got.Status, tc.want)
		}
		versions[name] = got.ResourceVersion
	}
	// The jobs that can run, run: the long name is cut to fit the Pod's label.
	if got := h.waitState("long-job", prowv1.PendingState); len(h.k.pod(got.Name).Labels[prowv1.JobLabel]) > 63 {
		t.Errorf("long-job's Pod label %q is over 63 characters", h.k.pod(got.Name).Labels[prowv1.JobLabel])
	}
	h.waitState("absurd-timeout", prowv1.PendingState)
	// A good job after them all runs: Plank kept serving.
	h.create("good", nil)
	h.waitState("good", prowv1.PendingState)
	for name := range bad {
		if got := h.get(name); got.ResourceVersion != versions[name] {
			t.Errorf("%s was written again after it ended: %+v", name, got.Status)
		}
	}
	// Each job: its creation, its status write and its Pod's events. A hot loop would be many more.
	if n := reconcileTotal(t) - before; n > float64(4*(len(bad)+3)) {
		t.Errorf("%v reconciles for %d jobs: a requeue loop", n, len(bad)+3)
	}
}
