// Command sidecar waits for a job's test containers to finish and uploads their logs, result
// (finished.json) and artifacts. Options come from $SIDECAR_OPTIONS, the run from $JOB_SPEC.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/prowl-ci/prowl/internal/podutils/utilcmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := utilcmd.Sidecar(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
