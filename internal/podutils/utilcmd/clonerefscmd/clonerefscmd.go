// Package clonerefscmd is clonerefs's command line, shared by cmd/clonerefs and `prowl clonerefs`.
// It is apart from utilcmd so that clonerefs links no bucket client.
package clonerefscmd

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/prowl-ci/prowl/internal/podutils/clonerefs"
	"github.com/prowl-ci/prowl/internal/podutils/options"
)

// Main checks out the repositories a job tests into the code volume, with pull requests
// merged, and records each clone for initupload. It exits 0 even when a clone fails: initupload
// reports the failure and ends the run. Options come from $CLONEREFS_OPTIONS, --options or one flag
// per key (--src-root, --log, ...); Prow's --cookiefile sets cookie_path.
func Main(ctx context.Context, args []string, stderr io.Writer) int {
	args = append([]string(nil), args...)
	for i, a := range args {
		if rest, ok := strings.CutPrefix(a, "--cookiefile"); ok && (rest == "" || rest[0] == '=') {
			args[i] = "--cookie_path" + rest
		}
	}
	var o options.CloneRefs
	if err := options.LoadFrom(args, options.CloneRefsEnv, &o); err != nil {
		fmt.Fprintf(stderr, "clonerefs: %v\n", err)
		return 1
	}
	if err := clonerefs.Run(ctx, &o); err != nil {
		fmt.Fprintf(stderr, "clonerefs: %v\n", err)
		return 1
	}
	return 0
}
