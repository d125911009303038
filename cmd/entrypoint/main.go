// Command entrypoint runs a job's test command inside its container: it tees the output to the
// process log, enforces the timeout and records the exit code for the sidecar. It links only the
// standard library. `entrypoint --copy-mode-only [DEST]` copies itself (place-entrypoint).
package main

import (
	"os"

	"github.com/prowl-ci/prowl/internal/podutils/entrypoint"
)

func main() { os.Exit(entrypoint.Main(os.Args[1:])) }
