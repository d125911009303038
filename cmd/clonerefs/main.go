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
	flag.String("options", "", "the options as JSON, or @FILE (default: $CLONEREFS_OPTIONS)")
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
		// git reads extra config from the environment; every clone then uses the cookie file.
		for k, v := range map[string]string{"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.cookiefile", "GIT_CONFIG_VALUE_0": o.CookiePath} {
			if err := os.Setenv(k, v); err != nil {
				fmt.Fprintf(os.Stderr, "clonerefs: %v\n", err)
				os.Exit(1)
			}
		}
	}
	if err := clonerefs.Run(context.Background(), &o); err != nil {
		fmt.Fprintf(os.Stderr, "clonerefs: %v\n", err)
		os.Exit(1)
	}
}
