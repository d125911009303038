package testutil

import (
	"context"
	"time"
)

// contextWithTimeout bounds set-up calls to the API server so that a broken control plane fails a
// test run instead of hanging it.
func contextWithTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}
