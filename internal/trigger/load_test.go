package trigger

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/config/crd"
	"github.com/prowl-ci/prowl/internal/hook"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// loadEvent is one kind of event the load sends, and the jobs each creates.
type loadEvent struct {
	event string
	body  []byte
	jobs  []string
}

// TestHookLoad sends pull_request, issue_comment and push events at a steady rate through Hook
// and Trigger, over loadPulls pull requests, against a GitHub that takes 50 ms per call: every delivery creates exactly its
// jobs (none lost, none twice) and is handled once; it reports the p99 from accept to ProwJob.
// PROWL_LOAD=1 (`make load`) runs the full load (200 events/s for 60 s); otherwise 20 events/s
// for 3 s.
func TestHookLoad(t *testing.T) {
	t.Parallel()
	rate, duration := 20, 3*time.Second
	if os.Getenv("PROWL_LOAD") != "" {
		rate, duration = 200, 60*time.Second
	}
	h := newHarnessWith(t, func(s *hook.Server) { s.Workers = 100 })
	// Published by Plank where Prowl runs. Without it the admission policy looks for it past its
	// cache for every ProwJob created: one more request each, and a 403 when that takes over 1 s.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: crd.BuildClustersConfigMap, Namespace: h.ns}, Data: map[string]string{prowv1.DefaultClusterAlias: ""}}
	if err := env.Client.Create(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	h.gh.SetLatency(50 * time.Millisecond)
	h.gh.AddMember("Codertocat", "Codertocat")
	events := loadEvents(t, h)
	seen := watchNames(t, h.ns)
	total := rate * int(duration/time.Second)
	accepted := make([]time.Time, total)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate)) // the load's pace, not a wait of the test's
	defer tick.Stop()
	for i := range total {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := events(i)
			if code, msg := h.post(k.event, fmt.Sprintf("load-%d", i), k.body); code != http.StatusOK {
				t.Errorf("delivery %d: %d %s", i, code, msg)
			}
			accepted[i] = time.Now()
		}()
	}
	wg.Wait()
	var latencies []time.Duration
	want := 0
	for i := range total {
		k := events(i)
		for _, job := range k.jobs {
			want++
			name := uuid.NewSHA1(uuid.NameSpaceURL, []byte(fmt.Sprintf("prowl-delivery:load-%d/%s", i, job))).String()
			at, ok := seen.wait(name)
			if !ok {
				h.mu.Lock()
				err, n := h.handled[fmt.Sprintf("load-%d", i)], h.attempts[fmt.Sprintf("load-%d", i)]
				h.mu.Unlock()
				t.Fatalf("delivery load-%d (%s): ProwJob %s of %s never created; handled %d times, last error %v", i, k.event, name, job, n, err)
			}
			latencies = append(latencies, max(at.Sub(accepted[i]), 0))
		}
	}
	if got := len(h.prowJobs()); got != want {
		t.Errorf("%d ProwJobs, want %d: lost or duplicated", got, want)
	}
	twice := 0
	h.mu.Lock()
	for _, n := range h.attempts {
		if n != 1 {
			twice++
		}
	}
	h.mu.Unlock()
	if twice != 0 {
		t.Errorf("%d deliveries handled more than once", twice)
	}
	slices.Sort(latencies)
	p := func(q float64) time.Duration { return latencies[int(q*float64(len(latencies)-1))] }
	t.Logf("hook load: %d events at %d/s, %d ProwJobs, lost 0, handled twice %d, accept→ProwJob p50 %v p99 %v",
		total, rate, want, twice, p(0.5).Round(time.Millisecond), p(0.99).Round(time.Millisecond))
}

// loadPulls is how many pull requests the load's pull_request and issue_comment events are spread
// over. Trigger handles one pull request's events one at a time, in order (each asks GitHub for
// the head first): 200 events a second on one pull request measured that order, not Hook, and
// filled Hook's queue of 10,000 (503s from the 10,586th event).
const loadPulls = 100

// loadEvents makes the load's events: in turn a pull request opened, a /test comment on it, and
// a push, the pull requests (numbered from 1000) going round loadPulls of them, each as the fake
// GitHub shows it.
func loadEvents(t *testing.T, h *harness) func(i int) loadEvent {
	var opened, comments [][]byte
	for n := range loadPulls {
		pr := githubPR("ec26c3e57ca3a959ca5aad62de7213c562f8c821", "README.md")
		pr.Number = 1000 + n
		h.gh.SetPullRequest("Codertocat/Hello-World", pr)
		opened = append(opened, payload(t, "octokit/pull_request/opened_1.json", map[string]any{"number": pr.Number, "pull_request.number": pr.Number}))
		comments = append(comments, commentOn(t, pr.Number, "Codertocat", "/test manual"))
	}
	push := payload(t, "octokit/push/none_5.json", nil)
	return func(i int) loadEvent {
		n := i / 3 % loadPulls
		switch i % 3 {
		case 0:
			return loadEvent{"pull_request", opened[n], []string{"code-only", "unit"}}
		case 1:
			return loadEvent{"issue_comment", comments[n], []string{"manual"}}
		}
		return loadEvent{"push", push, []string{"post-readme", "post-unit"}}
	}
}

// names records when each ProwJob of a namespace was first seen through a watch.
type names struct {
	mu   sync.Mutex
	at   map[string]time.Time
	cond *sync.Cond
}

func watchNames(t *testing.T, ns string) *names {
	t.Helper()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	n := &names{at: map[string]time.Time{}}
	n.cond = sync.NewCond(&n.mu)
	testutil.Follow(ctx, t, wc, &prowv1.ProwJobList{}, ns, func(o client.Object, ev watch.EventType) {
		if ev == watch.Added {
			n.saw(o.GetName())
		}
	})
	return n
}

func (n *names) saw(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.at[name]; !ok {
		n.at[name] = time.Now()
	}
	n.cond.Broadcast()
}

// wait returns when the ProwJob name was first seen, or false after two minutes.
func (n *names) wait(name string) (time.Time, bool) {
	deadline := time.AfterFunc(2*time.Minute, func() { n.mu.Lock(); n.cond.Broadcast(); n.mu.Unlock() })
	defer deadline.Stop()
	start := time.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	for {
		if at, ok := n.at[name]; ok {
			return at, true
		}
		if time.Since(start) > 2*time.Minute {
			return time.Time{}, false
		}
		n.cond.Wait()
	}
}
