// Command clonerefs checks out the repositories a job tests into the code volume, with pull
// requests merged, and records each clone for initupload. It exits 0 even when a clone fails:
// initupload reports the failure and ends the run. Options come from $CLONEREFS_OPTIONS.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/prowl-ci/prowl/internal/podutils/clonerefs"
	"github.com/prowl-ci/prowl/internal/podutils/options"
)

func main() {
	cookiefile := flag.String("cookiefile", "", "a git http.cookiefile for cloning")
	flag.Parse()
	var o options.CloneRefs
	if err := options.Load(options.CloneRefsEnv, &o); err != nil {
		fmt.Fprintf(os.Stderr, "clonerefs: %v\n", err)
		os.Exit(1)
	}
	if *cookiefile != "" && o.CookiePath == "" {
		o.CookiePath = *cookiefile
	}
	if o.CookiePath != "" {
		os.Setenv("GIT_CONFIG_COUNT", "1")
		os.Setenv("GIT_CONFIG_KEY_0", "http.cookiefile")
		os.Setenv("GIT_CONFIG_VALUE_0", o.CookiePath)
	}
	if err := clonerefs.Run(context.Background(), &o); err != nil {
		fmt.Fprintf(os.Stderr, "clonerefs: %v\n", err)
		os.Exit(1)
	}
}
