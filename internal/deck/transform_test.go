package deck

import (
	"encoding/json"
	"reflect"
	"runtime"
	"testing"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// decoded is a ProwJob as the informer hands it over: freshly decoded, sharing nothing.
func decoded(t *testing.T, name, image string) *prowv1.ProwJob {
	t.Helper()
	pj := &prowv1.ProwJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prow",
			Labels:        map[string]string{"prow.k8s.io/job": "pull-test", "prow.k8s.io/id": name},
			Annotations:   map[string]string{"prow.k8s.io/context": "pull-test"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "plank", Operation: metav1.ManagedFieldsOperationUpdate}}},
		Spec: prowv1.ProwJobSpec{Type: prowv1.PresubmitJob, Agent: "kubernetes", Cluster: "default", Job: "pull-test", Context: "pull-test",
			Refs: &prowv1.Refs{Org: "kubernetes", Repo: "kubernetes", BaseRef: "master", BaseSHA: "abc",
				Pulls: []prowv1.Pull{{Number: 1, Author: "alice", SHA: "def", Title: "Fix " + name}}},
			PodSpec: &corev1.PodSpec{Containers: []corev1.Container{{Name: "test", Image: image, Command: []string{"make", "test"},
				Env: []corev1.EnvVar{{Name: "GO111MODULE", Value: "on"}}}}},
			DecorationConfig: &prowv1.DecorationConfig{UtilityImages: &prowv1.UtilityImages{Entrypoint: "entrypoint", Sidecar: "sidecar"}},
			ReporterConfig:   &prowv1.ReporterConfig{Slack: &prowv1.SlackReporterConfig{Channel: "ci"}},
			RerunAuthConfig:  &prowv1.RerunAuthConfig{GitHubUsers: []string{"alice"}}},
		Status: prowv1.ProwJobStatus{State: prowv1.SuccessState, Description: "Job succeeded.", BuildID: "1", PodName: name}}
	raw, err := json.Marshal(pj)
	if err != nil {
		t.Fatal(err)
	}
	out := &prowv1.ProwJob{}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameString(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

func TestTransformKeepsEverythingButManagedFieldsAndShares(t *testing.T) {
	tr := NewTransform()
	var got []*prowv1.ProwJob
	for _, c := range []struct{ name, image string }{{"a", "golang:1.26"}, {"b", "golang:1.26"}, {"c", "golang:1.25"}} {
		pj := decoded(t, c.name, c.image)
		want := pj.DeepCopy()
		want.ManagedFields = nil
		out, err := tr(pj)
		if err != nil {
			t.Fatal(err)
		}
		tpj := out.(*prowv1.ProwJob)
		if tpj.ManagedFields != nil {
			t.Errorf("%s: managedFields kept", c.name)
		}
		// Everything Deck serves (/prowjobs.js, /prowjob) is kept, pod spec included.
		if !reflect.DeepEqual(tpj, want) {
			t.Errorf("%s: the transform changed the ProwJob:\ngot  %+v\nwant %+v", c.name, tpj, want)
		}
		got = append(got, tpj)
	}
	a, b, c := got[0], got[1], got[2]
	for what, shared := range map[string]bool{
		"pod spec":          a.Spec.PodSpec == b.Spec.PodSpec,
		"decoration config": a.Spec.DecorationConfig == b.Spec.DecorationConfig && a.Spec.DecorationConfig == c.Spec.DecorationConfig,
		"reporter config":   a.Spec.ReporterConfig == b.Spec.ReporterConfig,
		"rerun auth config": a.Spec.RerunAuthConfig == b.Spec.RerunAuthConfig,
		"job name":          sameString(a.Spec.Job, b.Spec.Job),
		"label value":       sameString(a.Labels["prow.k8s.io/job"], b.Labels["prow.k8s.io/job"]),
		"repository":        sameString(a.Spec.Refs.Repo, b.Spec.Refs.Repo),
		"author":            sameString(a.Spec.Refs.Pulls[0].Author, b.Spec.Refs.Pulls[0].Author),
	} {
		if !shared {
			t.Errorf("%s not shared between runs of one job", what)
		}
	}
	if a.Spec.PodSpec == c.Spec.PodSpec {
		t.Error("different pod specs shared")
	}
	if c.Spec.PodSpec.Containers[0].Image != "golang:1.25" {
		t.Errorf("c's pod spec is %+v", c.Spec.PodSpec)
	}
	if sameString(a.Spec.Refs.Pulls[0].Title, b.Spec.Refs.Pulls[0].Title) {
		t.Error("different titles are one string")
	}
	// Applied again (a resync), nothing changes.
	again, _ := tr(a.DeepCopy())
	if again.(*prowv1.ProwJob).Spec.PodSpec != a.Spec.PodSpec {
		t.Error("a second pass did not find the shared pod spec")
	}
}

func TestTransformStripsManagedFieldsOfOtherObjects(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "plank"}}}}
	out, err := NewTransform()(pod)
	if err != nil {
		t.Fatal(err)
	}
	if out.(*corev1.Pod).ManagedFields != nil {
		t.Error("managedFields kept")
	}
}

func TestSharerForgetsFreedValues(t *testing.T) {
	var s sharer[corev1.PodSpec]
	s.share(&corev1.PodSpec{Hostname: "a"})
	for range 100 {
		runtime.GC()
		s.mu.Lock()
		n := len(s.m)
		s.mu.Unlock()
		if n == 0 {
			return
		}
		runtime.Gosched()
	}
	t.Error("a freed value's entry stayed")
}
