package storage

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"
)

type failOnce struct {
	fails    int32
	attempts atomic.Int32
}

func (f *failOnce) Write(context.Context, string, Source, string) error {
	if f.attempts.Add(1) <= f.fails {
		return errors.New("connection reset")
	}
	return nil
}

// TestRetryingWaitsOnItsClock: a failed write is tried again only once the backoff has passed
// on the injected clock.
func TestRetryingWaitsOnItsClock(t *testing.T) {
	t.Parallel()
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	f := &failOnce{fails: 1}
	r := Retrying{Writer: f, Attempts: 3, Backoff: time.Minute, Clock: clk}
	done := make(chan error, 1)
	go func() { done <- r.Write(context.Background(), "k", DataSource(nil), "") }()
	if err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return clk.HasWaiters(), nil
	}); err != nil {
		t.Fatal("the retry never waited on the clock")
	}
	if n := f.attempts.Load(); n != 1 {
		t.Fatalf("%d attempts before the backoff passed, want 1", n)
	}
	clk.Step(time.Minute)
	if err := <-done; err != nil || f.attempts.Load() != 2 {
		t.Errorf("after the backoff: %v, %d attempts", err, f.attempts.Load())
	}
}
