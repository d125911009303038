package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"
)

const echoJob = "periodics:\n- name: echo\n  interval: 1h\n  spec: {containers: [{image: alpine, command: [date]}]}\n"

// TestAgentReloadsOnChange writes into a watched directory: a valid change is swapped in and
// subscribers learn what changed; an invalid file is reported and the old config stays in force.
func TestAgentReloadsOnChange(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"jobs/echo.yaml": echoJob})
	jobs := filepath.Join(dir, "jobs")
	a, _, err := NewAgent(Options{JobConfigPath: jobs})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reported []error
	a.OnError = func(err error) {
		mu.Lock()
		defer mu.Unlock()
		reported = append(reported, err)
	}
	// The debounce runs on a fake clock, which each poll steps.
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	a.Clock = clk
	deltas := make(chan Delta, 10)
	a.Subscribe(deltas)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	a.watchStarted = func() { close(started) }
	watching := make(chan error, 1)
	go func() { watching <- a.Watch(ctx, time.Second) }()
	<-started

	// One write, after the watches are set; the poll steps the debounce until the reload's delta.
	added := "periodics:\n- name: added\n  cron: '*/5 * * * *'\n  spec: {containers: [{image: alpine, command: [date]}]}\n"
	if err := os.MkdirAll(filepath.Join(jobs, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(jobs, "sub", "added.yaml"), []byte(added), 0o644); err != nil {
		t.Fatal(err)
	}
	var d Delta
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		clk.Step(time.Second)
		select {
		case d = <-deltas:
			return true, nil
		default:
			return false, nil
		}
	})
	if err != nil {
		t.Fatalf("no reload after adding a job: %v", err)
	}
	if diff := cmp.Diff(Delta{Added: []string{"periodic added"}}, d); diff != "" {
		t.Errorf("delta (-want +got):\n%s", diff)
	}
	if got := a.Config().Summary(); got != "2 periodics, 0 presubmits, 0 postsubmits" {
		t.Errorf("config in force: %s", got)
	}

	// An invalid file: reported, and the config in force stays.
	if err := os.WriteFile(filepath.Join(jobs, "bad.yaml"), []byte("periodics:\n- name: bad\n  spec: {containers: [{image: a, command: [x]}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		clk.Step(time.Second)
		mu.Lock()
		defer mu.Unlock()
		return len(reported) > 0, nil
	})
	if err != nil {
		t.Fatal("an invalid config was not reported")
	}
	mu.Lock()
	msg := reported[0].Error()
	mu.Unlock()
	if !strings.Contains(msg, "keeping the one in force") || !strings.Contains(msg, `bad.yaml:2: job "bad": interval: a periodic needs exactly one of`) {
		t.Errorf("reported %q", msg)
	}
	if got := a.Config().Summary(); got != "2 periodics, 0 presubmits, 0 postsubmits" {
		t.Errorf("config in force after an invalid change: %s", got)
	}

	// Fixing it and removing a job: both reach subscribers.
	if err := os.Remove(filepath.Join(jobs, "bad.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(jobs, "echo.yaml")); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		clk.Step(time.Second)
		select {
		case d = <-deltas:
			return true, nil
		default:
			return false, nil
		}
	})
	if err != nil {
		t.Fatal("no reload after removing a job")
	}
	if diff := cmp.Diff(Delta{Removed: []string{"periodic echo"}}, d); diff != "" {
		t.Errorf("delta (-want +got):\n%s", diff)
	}
	cancel()
	if err := <-watching; err != nil {
		t.Errorf("Watch: %v", err)
	}
}

func TestReloadReportsChangedJobs(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"jobs.yaml": echoJob})
	a, _, err := NewAgent(Options{JobConfigPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	deltas := make(chan Delta, 1)
	a.Subscribe(deltas)
	if err := os.WriteFile(filepath.Join(dir, "jobs.yaml"), []byte(strings.Replace(echoJob, "1h", "2h", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	if d := <-deltas; !cmp.Equal(d, Delta{Changed: []string{"periodic echo"}}) {
		t.Errorf("delta %+v", d)
	}
	if got := a.Config().Periodics[0].GetInterval(); got != 2*time.Hour {
		t.Errorf("interval in force %v", got)
	}
}
