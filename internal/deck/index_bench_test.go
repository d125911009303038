package deck

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/cache/informertest"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
)

// BenchmarkPages50k is the cost of Deck's pages with 50,000 ProwJobs in the index, without the
// API server (bench/deck measures the whole path): go test -run x -bench Pages50k ./internal/deck.
func BenchmarkPages50k(b *testing.B) {
	cfg := &config.Config{}
	s, err := New(Options{Cache: &informertest.FakeInformers{}, Client: env.Client, Config: func() *config.Config { return cfg },
		Clock: clocktesting.NewFakeClock(now), Registerer: prometheus.NewRegistry(), Gatherer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	states := []prowv1.ProwJobState{"success", "success", "success", "failure", "pending", "success", "error", "aborted", "triggered", "success"}
	repos := []string{"kubernetes/kubernetes", "kubernetes/test-infra", "kubernetes-sigs/prow", "prowl/prowl"}
	for i := range 50000 {
		org, repo, _ := strings.Cut(repos[i%len(repos)], "/")
		pj := &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pj-%05d", i), Labels: map[string]string{"created-by-prow": "true"}},
			Spec: prowv1.ProwJobSpec{Type: prowv1.PresubmitJob, Job: fmt.Sprintf("pull-kubernetes-%d", i%300),
				Refs:    &prowv1.Refs{Org: org, Repo: repo, BaseRef: "master", Pulls: []prowv1.Pull{{Number: i % 3000, Author: "alice", Title: "A change"}}},
				PodSpec: &corev1.PodSpec{Containers: []corev1.Container{{Name: "test", Image: "golang", Command: []string{"make", "test"}}}}},
			Status: prowv1.ProwJobStatus{State: states[i%len(states)], StartTime: metav1.NewTime(now.Add(-time.Duration(i) * 3 * time.Second))}}
		if st := pj.Status.State; st != "pending" && st != "triggered" {
			end := metav1.NewTime(pj.Status.StartTime.Add(time.Minute))
			pj.Status.CompletionTime = &end
		}
		s.index.upsert(pj)
	}
	for _, path := range []string{"/", "/?repo=kubernetes/kubernetes&state=failure", "/badge.svg?jobs=pull-kubernetes-1*",
		"/prowjobs.js?omit=annotations,labels,decoration_config,pod_spec"} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				w := httptest.NewRecorder()
				s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
				if w.Code != http.StatusOK {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
				b.SetBytes(int64(w.Body.Len()))
			}
		})
	}
}
