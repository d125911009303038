// Command initupload uploads started.json and the job's latest-build pointers before a job's test
// runs, and ends the run as FAILURE when cloning failed. Options come from $INITUPLOAD_OPTIONS,
// the run from $JOB_SPEC.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"k8s.io/utils/clock"

	"github.com/prowl-ci/prowl/internal/podutils/gcsupload"
	"github.com/prowl-ci/prowl/internal/podutils/initupload"
	"github.com/prowl-ci/prowl/internal/podutils/options"
)

func main() { os.Exit(run()) }

func run() int {
	var o options.InitUpload
	if err := options.Load(options.InitUploadEnv, &o); err != nil {
		fmt.Fprintf(os.Stderr, "initupload: %v\n", err)
		return 1
	}
	spec, err := gcsupload.JobSpecFromEnv()
	if err != nil {
		fmt.Fprintf(os.Stderr, "initupload: %v\n", err)
		return 1
	}
	ctx := context.Background()
	t, err := gcsupload.Open(ctx, o.GCSUpload, spec)
	if err != nil {
		fmt.Fprintf(os.Stderr, "initupload: %v\n", err)
		return 1
	}
	defer t.Close()
	if err := initupload.Run(ctx, &o, t, clock.RealClock{}); err != nil {
		fmt.Fprintf(os.Stderr, "initupload: %v\n", err)
		if errors.Is(err, initupload.ErrCloneFailed) {
			return 2
		}
		return 1
	}
	return 0
}
