// Package utilcmd is the command line of the pod utilities: the small binaries (cmd/sidecar,
// cmd/initupload) and `prowl sidecar|initupload` run the same code, so a machine with only the
// prowl binary runs jobs too. clonerefs's is in clonerefscmd (it needs no bucket client, which
// would make its binary 70 MB larger); the entrypoint's is entrypoint.Main, which must stay free of
// everything but the standard library.
package utilcmd

import (
	"context"
	"errors"
	"fmt"
	"io"

	"k8s.io/utils/clock"

	"github.com/prowl-ci/prowl/internal/podutils/gcsupload"
	"github.com/prowl-ci/prowl/internal/podutils/initupload"
	"github.com/prowl-ci/prowl/internal/podutils/options"
	"github.com/prowl-ci/prowl/internal/podutils/sidecar"
)

// Names are the pod utilities' names, as binaries and as prowl subcommands.
var Names = []string{"clonerefs", "initupload", "entrypoint", "sidecar"}

// Sidecar waits for a job's test containers to finish and uploads their logs, result
// (finished.json) and artifacts. Options come from $SIDECAR_OPTIONS or args, the run from
// $JOB_SPEC. It returns the exit code.
func Sidecar(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options.Sidecar
	if err := options.LoadFrom(args, options.SidecarEnv, &o); err != nil {
		fmt.Fprintf(stderr, "sidecar: %v\n", err)
		return 1
	}
	spec, err := gcsupload.JobSpecFromEnv()
	if err != nil {
		fmt.Fprintf(stderr, "sidecar: %v\n", err)
		return 1
	}
	t, err := gcsupload.Open(ctx, o.GCSOptions, spec)
	if err != nil {
		fmt.Fprintf(stderr, "sidecar: %v\n", err)
		return 1
	}
	defer t.Close()
	return sidecar.Run(ctx, &o, t, clock.RealClock{}, stdout)
}

// InitUpload uploads started.json and the job's latest-build pointers before a job's test runs,
// and ends the run as FAILURE when cloning failed (exit 2). Options come from
// $INITUPLOAD_OPTIONS or args, the run from $JOB_SPEC.
func InitUpload(ctx context.Context, args []string, stderr io.Writer) int {
	var o options.InitUpload
	if err := options.LoadFrom(args, options.InitUploadEnv, &o); err != nil {
		fmt.Fprintf(stderr, "initupload: %v\n", err)
		return 1
	}
	spec, err := gcsupload.JobSpecFromEnv()
	if err != nil {
		fmt.Fprintf(stderr, "initupload: %v\n", err)
		return 1
	}
	t, err := gcsupload.Open(ctx, o.GCSUpload, spec)
	if err != nil {
		fmt.Fprintf(stderr, "initupload: %v\n", err)
		return 1
	}
	defer t.Close()
	if err := initupload.Run(ctx, &o, t, clock.RealClock{}); err != nil {
		fmt.Fprintf(stderr, "initupload: %v\n", err)
		if errors.Is(err, initupload.ErrCloneFailed) {
			return 2
		}
		return 1
	}
	return 0
}
