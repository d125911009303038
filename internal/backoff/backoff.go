// Package backoff retries an operation with exponential backoff, waiting on an injected clock so
// that tests drive the waits with a fake clock instead of sleeping. apimachinery's
// wait.ExponentialBackoffWithContext does the same on the wall clock only.
package backoff

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/clock"
)

// ErrExhausted is returned (wrapped) when every attempt ran and none succeeded.
var ErrExhausted = fmt.Errorf("retries exhausted")

// Retry runs attempt until it reports done or an error, at most b.Steps times (once when Steps is
// 0), waiting b.Step() on clk between attempts. It returns attempt's error, ctx's error when ctx
// ends first, or ErrExhausted.
func Retry(ctx context.Context, clk clock.Clock, b wait.Backoff, attempt func(context.Context) (bool, error)) error {
	steps := max(b.Steps, 1)
	for i := 1; ; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		done, err := attempt(ctx)
		if err != nil || done {
			return err
		}
		if i >= steps {
			return fmt.Errorf("%w after %d attempts", ErrExhausted, steps)
		}
		t := clk.NewTimer(b.Step())
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C():
		}
	}
}
