package plank

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
)

// TestInLine: of the triggered jobs, those whose own limits let them start are woken, in
// creation order, counting the pending jobs and the triggered ones ahead as hasCapacity does.
func TestInLine(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{}
	cfg.Plank.JobQueueCapacities = map[string]int{"q": 1, "open": -1}
	job := func(name string, sec int64, job, queue string, maxConcurrency int) prowv1.ProwJob {
		return prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.Unix(sec, 0)},
			Spec: prowv1.ProwJobSpec{Job: job, JobQueueName: queue, MaxConcurrency: maxConcurrency}}
	}
	pending := []prowv1.ProwJob{job("running", 1, "a", "q", 0)}
	triggered := []prowv1.ProwJob{ // not in creation order
		job("second-of-lim", 6, "lim", "", 1),
		job("queued", 2, "b", "q", 0), // q is full
		job("free", 3, "c", "", 0),
		job("first-of-lim", 5, "lim", "", 1), // ahead of second-of-lim, which waits for it
		job("unlimited-queue", 4, "d", "open", 0),
	}
	var got []string
	for _, pj := range inLine(cfg, pending, triggered) {
		got = append(got, pj.Name)
	}
	if want := []string{"free", "unlimited-queue", "first-of-lim"}; !slices.Equal(got, want) {
		t.Errorf("in line: %v, want %v", got, want)
	}
}
