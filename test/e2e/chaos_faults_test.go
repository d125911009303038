package e2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// fault is one injected failure, due once the given fraction of the webhooks' jobs completed.
type fault struct {
	at   float64
	name string
	do   func(ctx context.Context) error
}

// Fault names, as the summary line counts them.
const (
	faultCMKill     = "cm kills"
	faultAPIRestart = "apiserver restarts"
	faultNodeKill   = "node restarts"
	faultHookKill   = "hook kills"
)

// faultPlan is every fault of the plan, each at a random point between 5% and 85% of the
// webhooks' jobs completed, in order.
func (e *chaosEnv) faultPlan() []fault {
	var fs []fault
	add := func(n int, name string, do func(context.Context) error) {
		for range n {
			fs = append(fs, fault{at: 0.05 + 0.8*e.rng.Float64(), name: name, do: do})
		}
	}
	add(e.plan.cmKills, faultCMKill, func(context.Context) error { return e.comps["controller-manager"].restart(syscall.SIGKILL) })
	add(e.plan.apiRestarts, faultAPIRestart, func(context.Context) error { return e.cp.RestartAPIServer() })
	add(e.plan.nodeRestarts, faultNodeKill, func(context.Context) error { return e.comps["node"].restart(syscall.SIGKILL) })
	add(e.plan.hookKills, faultHookKill, e.killHookInFlight)
	slices.SortFunc(fs, func(a, b fault) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
	return fs
}

// webhookJobs counts the jobs every planned webhook starts.
func (e *chaosEnv) webhookJobs() int {
	n := 0
	for _, w := range e.gh.webhooks() {
		n += len(w.jobs)
	}
	return n
}

// progress is the fraction of the webhooks' jobs seen complete, and how many of those sent are not.
func (e *chaosEnv) progress() (float64, int) {
	done, _ := e.watch.completed(prowv1.PresubmitJob, prowv1.PostsubmitJob)
	return float64(done) / float64(e.webhookJobs()), e.gh.sentJobs() - done
}

// run sends the webhooks, keeping at most plan.outstanding of their jobs unfinished, and injects
// each fault when its point is reached, until every webhook is accepted and every fault done.
func (e *chaosEnv) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	faults := e.faultPlan()
	var mu sync.Mutex
	var faultErr error
	faulting := false
	// A job takes about a second of this machine at the worst: the long run's 2,000 need their time.
	limit := 10*time.Minute + time.Duration(e.plan.jobs)*1500*time.Millisecond
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, limit, true, func(ctx context.Context) (bool, error) {
		done, outstanding := e.progress()
		for outstanding < e.plan.outstanding {
			w := e.gh.next()
			if w == nil {
				break
			}
			e.gh.send(ctx, w)
			outstanding += len(w.jobs)
		}
		mu.Lock()
		defer mu.Unlock()
		if faultErr != nil {
			return false, faultErr
		}
		if !faulting && len(faults) > 0 && (done >= faults[0].at || e.gh.remaining() == 0) {
			f := faults[0]
			faults, faulting = faults[1:], true
			go func() { // the load goes on meanwhile
				t.Logf("chaos: %s at %.0f%% of the webhooks' jobs done (%s)", f.name, 100*done, time.Now().Format("15:04:05.000"))
				began := time.Now()
				err := f.do(ctx)
				t.Logf("chaos: %s took %s", f.name, time.Since(began).Round(time.Millisecond))
				mu.Lock()
				defer mu.Unlock()
				faulting, e.faults[f.name] = false, e.faults[f.name]+1
				if err != nil {
					faultErr = fmt.Errorf("%s: %w", f.name, err)
				}
			}()
		}
		return len(faults) == 0 && !faulting && e.gh.allAccepted(), nil
	})
	if err != nil {
		t.Fatalf("the load and faults did not finish: %v\n%s", err, e.comps.tails(30))
	}
}

// killHookInFlight sends a burst of webhooks at once and SIGKILLs Hook as soon as the first is
// accepted, with the others on the wire or in its queue; it starts Hook again. GitHub (the test)
// redelivers those that got no 2xx.
func (e *chaosEnv) killHookInFlight(ctx context.Context) error {
	var burst []*webhook
	for range 8 {
		if w := e.gh.next(); w != nil {
			burst = append(burst, w)
			e.gh.send(ctx, w)
		}
	}
	if len(burst) > 0 {
		_ = wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			return slices.ContainsFunc(burst, func(w *webhook) bool { return isClosed(w.accepted) }), nil
		})
	}
	return e.comps["hook"].restart(syscall.SIGKILL)
}
