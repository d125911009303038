// Package local assembles what `prowl up` and `prowl run` run on one machine: the local control
// plane (or a cluster given), the components in one controller manager, the local node, and the
// embedded examples with the repository they test.
package local

import (
	"context"
	"io"

	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/prowl-ci/prowl/internal/config"
)

// Component is a part `prowl up` runs in its manager beside Horologium and Plank: Crier and Hook
// today; Deck, Spyglass and Sinker are added the same way, as UpOptions.Components.
type Component struct {
	// Name is what `prowl up` says it runs ("Deck").
	Name string
	// Setup adds the component to env.Manager before the manager starts: controllers through
	// their builders, servers as runnables (env.Manager.Add), which the manager starts and stops.
	// It may print where it serves on env.Out.
	Setup func(ctx context.Context, env Env) error
}

// Env is what a Component is given to set itself up with.
type Env struct {
	// Manager is the one controller manager `prowl up` runs; its client reads from the cache.
	Manager ctrl.Manager
	// RestConfig reaches the same API server, for a component that needs a client of its own.
	RestConfig *rest.Config
	// Config is the Prow config in force, reloaded when its files change.
	Config *config.Agent
	// DataDir is `prowl up`'s data directory (the examples' artifacts are under DataDir/artifacts).
	DataDir string
	// Clock is the time every component reads.
	Clock clock.WithTicker
	// Out is where a component says, for a person, what it started and where.
	Out io.Writer
}

// runnable adapts a function to a manager runnable that every replica runs (no Lease needed): a
// server such as Hook.
type runnable func(ctx context.Context) error

func (r runnable) Start(ctx context.Context) error { return r(ctx) }

// NeedLeaderElection is false: each replica serves.
func (r runnable) NeedLeaderElection() bool { return false }
