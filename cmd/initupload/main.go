// Command initupload uploads started.json and the job's latest-build pointers before a job's test
// runs, and ends the run as FAILURE when cloning failed. Options come from $INITUPLOAD_OPTIONS,
// the run from $JOB_SPEC.
package main

import (
	"context"
	"os"

	"github.com/prowl-ci/prowl/internal/podutils/utilcmd"
)

func main() { os.Exit(utilcmd.InitUpload(context.Background(), os.Args[1:], os.Stderr)) }
