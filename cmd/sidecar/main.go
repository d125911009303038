// Command sidecar waits for a job's test containers to finish and uploads their logs, result
// (finished.json) and artifacts. Options come from $SIDECAR_OPTIONS, the run from $JOB_SPEC.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/utils/clock"

	"github.com/prowl-ci/prowl/internal/podutils/gcsupload"
	"github.com/prowl-ci/prowl/internal/podutils/options"
	"github.com/prowl-ci/prowl/internal/podutils/sidecar"
)

func main() { os.Exit(run()) }

func run() int {
	var o options.Sidecar
	if err := options.Load(options.SidecarEnv, &o); err != nil {
		fmt.Fprintf(os.Stderr, "sidecar: %v\n", err)
		return 1
	}
	spec, err := gcsupload.JobSpecFromEnv()
	if err != nil {
		fmt.Fprintf(os.Stderr, "sidecar: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	t, err := gcsupload.Open(ctx, o.GCSOptions, spec)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sidecar: %v\n", err)
		return 1
	}
	defer t.Close()
	return sidecar.Run(ctx, &o, t, clock.RealClock{}, os.Stdout)
}
