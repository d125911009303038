// Command clonerefs checks out the repositories a job tests into the code volume, with pull
// requests merged, and records each clone for initupload. It exits 0 even when a clone fails:
// initupload reports the failure and ends the run. Options come from $CLONEREFS_OPTIONS, --options
// or one flag per key (--src-root, --log, ...); Prow's --cookiefile sets cookie_path.
package main

import (
	"context"
	"os"

	"github.com/prowl-ci/prowl/internal/podutils/utilcmd/clonerefscmd"
)

func main() { os.Exit(clonerefscmd.Main(context.Background(), os.Args[1:], os.Stderr)) }
