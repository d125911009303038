package backoff

import (
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"
)

// TestRetryWaitsOnTheClock: the second attempt runs only once the fake clock passes the first
// backoff, and the attempts stop at Steps.
func TestRetryWaitsOnTheClock(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	attempts := make(chan int, 10)
	n := 0
	done := make(chan error, 1)
	go func() {
		done <- Retry(context.Background(), clk, wait.Backoff{Duration: time.Second, Factor: 2, Steps: 3}, func(context.Context) (bool, error) {
			n++
			attempts <- n
			return false, nil
		})
	}()
	for want := 1; want <= 3; want++ {
		if got := <-attempts; got != want {
			t.Fatalf("attempt %d, want %d", got, want)
		}
		if want == 3 {
			break
		}
		waitForWaiter(t, clk)
		select {
		case <-attempts:
			t.Fatal("an attempt ran before the backoff passed")
		default:
		}
		clk.Step(time.Duration(1<<(want-1)) * time.Second)
	}
	if err := <-done; !errors.Is(err, ErrExhausted) {
		t.Errorf("after 3 failed attempts: %v, want ErrExhausted", err)
	}
}

func TestRetryStopsOnSuccessErrorAndCancel(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	b := wait.Backoff{Duration: time.Second, Factor: 2, Steps: 5}
	if err := Retry(context.Background(), clk, b, func(context.Context) (bool, error) { return true, nil }); err != nil {
		t.Errorf("success: %v", err)
	}
	boom := errors.New("boom")
	if err := Retry(context.Background(), clk, b, func(context.Context) (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Errorf("a permanent error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Retry(ctx, clk, b, func(context.Context) (bool, error) { return false, nil }) }()
	waitForWaiter(t, clk)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while waiting: %v", err)
	}
}

// waitForWaiter waits until the retry is waiting on the clock.
func waitForWaiter(t *testing.T, clk *clocktesting.FakeClock) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return clk.HasWaiters(), nil
	}); err != nil {
		t.Fatal("the retry never waited on the clock")
	}
}
