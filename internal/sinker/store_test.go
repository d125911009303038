package sinker

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// TestStoreFollowsEvents: the store lists, of one namespace, the latest object an event brought
// under each name, by label; a delete, also one the informer only learnt of at a relist (a
// tombstone), takes it out.
func TestStoreFollowsEvents(t *testing.T) {
	t.Parallel()
	pod := func(ns, name, prow string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{prowv1.CreatedByProw: prow}}}
	}
	s := &store[*corev1.Pod]{objs: map[string]map[string]*corev1.Pod{}}
	s.put(pod("test-pods", "a", "true"))
	s.put(pod("test-pods", "b", "true"))
	s.put(pod("test-pods", "other", "false"))
	s.put(pod("prow", "c", "true"))
	newer := pod("test-pods", "a", "true")
	s.put(newer)
	names := func(pods []*corev1.Pod) map[string]bool {
		out := map[string]bool{}
		for _, p := range pods {
			out[p.Namespace+"/"+p.Name] = true
		}
		return out
	}
	if got := names(s.list("test-pods", prowv1.CreatedByProw, "true")); len(got) != 2 || !got["test-pods/a"] || !got["test-pods/b"] {
		t.Errorf("Prow's Pods in test-pods: %v, want a and b", got)
	}
	if got := s.list("test-pods", "", ""); len(got) != 3 {
		t.Errorf("every Pod in test-pods: %v, want 3", names(got))
	}
	for _, p := range s.list("test-pods", prowv1.CreatedByProw, "true") {
		if p.Name == "a" && p != newer {
			t.Error("a is not the object of its latest event")
		}
	}
	s.drop(pod("test-pods", "a", "true"))
	s.drop(toolscache.DeletedFinalStateUnknown{Key: "test-pods/b", Obj: pod("test-pods", "b", "true")})
	if got := names(s.list("test-pods", prowv1.CreatedByProw, "true")); len(got) != 0 {
		t.Errorf("deleted Pods still listed: %v", got)
	}
	if got := names(s.list("prow", prowv1.CreatedByProw, "true")); len(got) != 1 || !got["prow/c"] {
		t.Errorf("Prow's Pods in prow: %v, want c", got)
	}
}
