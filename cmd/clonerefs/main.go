// Command clonerefs checks out the repositories a job tests into the code volume, with pull
// requests merged, and records each clone for initupload. It exits 0 even when a clone fails:
// initupload reports the failure and ends the run. Options come from $CLONEREFS_OPTIONS, --options
// or one flag per key (--src-root, --log, ...); Prow's --cookiefile sets cookie_path.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/prowl-ci/prowl/internal/podutils/clonerefs"
	"github.com/prowl-ci/prowl/internal/podutils/options"
)

func main() {
	args := make([]string, len(os.Args)-1)
	for i, a := range os.Args[1:] {
		if rest, ok := strings.CutPrefix(a, "--cookiefile"); ok && (rest == "" || rest[0] == '=') {
			a = "--cookie_path" + rest
		}
		args[i] = a
	}
	var o options.CloneRefs
	if err := options.LoadFrom(args, options.CloneRefsEnv, &o); err != nil {
		fmt.Fprintf(os.Stderr, "clonerefs: %v\n", err)
		os.Exit(1)
	}
	if err := clonerefs.Run(context.Background(), &o); err != nil {
		fmt.Fprintf(os.Stderr, "clonerefs: %v\n", err)
		os.Exit(1)
	}
}
