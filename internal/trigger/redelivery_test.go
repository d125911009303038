package trigger

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/prowl-ci/prowl/internal/hook"
)

// failAttempts makes the fake GitHub fail the next n handlings of an event: the client tries
// each request six times (five retries) before the handling sees the error.
func failAttempts(h *harness, n int) {
	codes := make([]int, 6*n)
	for i := range codes {
		codes[i] = http.StatusInternalServerError
	}
	h.gh.FailNext(codes...)
}

func (h *harness) attemptsOf(delivery string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.attempts[delivery]
}

// waitUntil polls cond; the test fails with what when it never holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return cond(), nil
	}); err != nil {
		t.Fatalf("never: %s", what)
	}
}

// handledTotal reads prowl_hook_events_handled_total{outcome} from reg.
func handledTotal(t *testing.T, reg *prometheus.Registry, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "prowl_hook_events_handled_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

// An event whose handling fails while GitHub answers 500 is handled again by Hook after its
// backoff (on the fake clock), and its jobs are created once.
func TestFailedEventRetriedByHook(t *testing.T) {
	t.Parallel()
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	h := newHarnessWith(t, func(s *hook.Server) {
		s.Clock = clk
		s.Retry = wait.Backoff{Duration: time.Minute, Factor: 2, Steps: 3}
	})
	h.gh.AddMember("Codertocat", "Codertocat")
	failAttempts(h, 2)
	if code, msg := h.post("pull_request", "flaky", payload(t, "octokit/pull_request/opened_1.json", nil)); code != http.StatusOK {
		t.Fatalf("%d %s", code, msg)
	}
	for attempt, backoff := range []time.Duration{time.Minute, 2 * time.Minute} {
		waitUntil(t, "Hook waits to retry", func() bool { return h.attemptsOf("flaky") == attempt+1 && clk.HasWaiters() })
		if got := h.jobs(); len(got) != 0 {
			t.Fatalf("ProwJobs %v while GitHub fails", got)
		}
		clk.Step(backoff - time.Nanosecond)
		if h.attemptsOf("flaky") != attempt+1 || !clk.HasWaiters() {
			t.Fatalf("attempt %d ran before its backoff passed", attempt+2)
		}
		clk.Step(time.Nanosecond)
	}
	waitUntil(t, "the third attempt", func() bool { return h.attemptsOf("flaky") == 3 })
	if got, n := h.jobs(), h.attemptsOf("flaky"); !equal(got, []string{"code-only", "unit"}) || n != 3 {
		t.Errorf("ProwJobs %v after %d attempts; want code-only and unit after 3", got, n)
	}
}

// An event that fails on every attempt is not lost: its delivery ID is forgotten, so GitHub's
// redelivery is handled (not refused as a duplicate) and creates the jobs.
func TestExhaustedEventRedeliverable(t *testing.T) {
	t.Parallel()
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	reg := prometheus.NewRegistry()
	h := newHarnessWith(t, func(s *hook.Server) {
		s.Clock, s.Registry = clk, reg
		s.Retry = wait.Backoff{Duration: time.Second, Factor: 2, Steps: 2}
	})
	h.gh.AddMember("Codertocat", "Codertocat")
	failAttempts(h, 2)
	body := payload(t, "octokit/pull_request/opened_1.json", nil)
	if code, msg := h.post("pull_request", "down", body); code != http.StatusOK {
		t.Fatalf("%d %s", code, msg)
	}
	waitUntil(t, "Hook waits to retry", func() bool { return h.attemptsOf("down") == 1 && clk.HasWaiters() })
	clk.Step(time.Second)
	waitUntil(t, "Hook gives up", func() bool { return handledTotal(t, reg, "error") == 1 })
	if got := h.jobs(); len(got) != 0 {
		t.Fatalf("ProwJobs %v although every attempt failed", got)
	}
	code, msg := h.post("pull_request", "down", body)
	if code != http.StatusOK || !strings.Contains(msg, "Event received") {
		t.Fatalf("the redelivery: %d %q, want it accepted", code, msg)
	}
	waitUntil(t, "the redelivery is handled", func() bool { return handledTotal(t, reg, "ok") == 1 })
	if got := h.jobs(); !equal(got, []string{"code-only", "unit"}) {
		t.Errorf("ProwJobs %v after the redelivery, want code-only and unit", got)
	}
	if n := h.attemptsOf("down"); n != 3 || handledTotal(t, reg, "retry") != 1 {
		t.Errorf("%d attempts, %v retried; want 3 and 1", n, handledTotal(t, reg, "retry"))
	}
}

// Twenty copies of one delivery sent at once, while the first is still being handled, are
// handled once; a copy after it was handled is refused too.
func TestConcurrentCopiesHandledOnce(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	h := newHarnessWith(t, func(s *hook.Server) {
		inner := s.Handle
		s.Handle = func(ctx context.Context, eventType, delivery string, payload []byte) error {
			<-release
			return inner(ctx, eventType, delivery, payload)
		}
	})
	h.gh.AddMember("Codertocat", "Codertocat")
	body := payload(t, "octokit/pull_request/opened_1.json", nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	answers := map[string]int{}
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, msg := h.post("pull_request", "twin", body)
			mu.Lock()
			defer mu.Unlock()
			if code != http.StatusOK {
				t.Errorf("answer %d %s", code, msg)
			}
			answers[strings.TrimSpace(msg)]++
		}()
	}
	wg.Wait()
	if answers["Event received. Have a nice day."] != 1 || answers["Delivery twin is being handled; not handled twice."] != 19 {
		t.Errorf("answers %v: want one accepted, 19 refused as being handled", answers)
	}
	close(release)
	waitUntil(t, "the delivery is handled", func() bool { return h.attemptsOf("twin") == 1 })
	if got := h.jobs(); !equal(got, []string{"code-only", "unit"}) {
		t.Errorf("ProwJobs %v, want code-only and unit", got)
	}
	waitUntil(t, "a copy after handling is refused as handled", func() bool {
		_, msg := h.post("pull_request", "twin", body)
		return strings.Contains(msg, "already handled")
	})
	if n := h.attemptsOf("twin"); n != 1 {
		t.Errorf("handled %d times, want once", n)
	}
}
