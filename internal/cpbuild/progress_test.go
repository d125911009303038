package cpbuild

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"
)

// lockedBuffer is a writer the reporter and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A long build says every 30 seconds how long it has run and how many of its packages are built,
// counted from `go build -v`'s lines; its compile errors still reach the person watching.
func TestProgressReports(t *testing.T) {
	t.Parallel()
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	out := &lockedBuffer{}
	log := &buildLog{w: out}
	var total atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		reportProgress(ctx, clk, out, "[2/3] kube-apiserver", &total, &log.built)
		close(done)
	}()
	defer func() { cancel(); <-done }()
	// tick steps the clock once the reporter waits on its ticker, and returns the next report.
	tick := func(want string) {
		t.Helper()
		poll(t, func() bool { return clk.HasWaiters() })
		clk.Step(ProgressInterval)
		poll(t, func() bool { return strings.Contains(out.String(), want) })
	}
	tick("[2/3] kube-apiserver: resolving and downloading modules, 30s elapsed")
	total.Store(1634)
	fmt.Fprint(log, "internal/abi\nruntime\nk8s.io/api/core/v1\n# k8s.io/broken\nbroken.go:3:1: syntax error\nk8s.io/apiserver/pkg/ser")
	tick("[2/3] kube-apiserver: 3 of 1634 packages built (0%), 1m0s elapsed")
	fmt.Fprint(log, "ver\n")
	if got := log.built.Load(); got != 4 {
		t.Errorf("%d packages counted, want 4 (a line split across writes counts once)", got)
	}
	if s := out.String(); !strings.Contains(s, "# k8s.io/broken\nbroken.go:3:1: syntax error\n") {
		t.Errorf("the compile error was not passed on:\n%s", s)
	}
}

func poll(t *testing.T, cond func() bool) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		t.Fatalf("condition never held: %v", err)
	}
}

// The package count of a real binary comes from go list: the build's upper bound.
func TestPackageCount(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := writeModule(dir); err != nil {
		t.Fatal(err)
	}
	n, err := packageCount(context.Background(), "go", dir, "go.etcd.io/etcd/server/v3")
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Errorf("etcd builds from %d packages, want its hundreds", n)
	}
}
