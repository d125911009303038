// Command rss loads the config corpus (Prowl's loader or the baseline) and prints its peak resident
// set size (VmHWM, in kB). It is a binary of its own, linking only the loader, so that what is
// measured is loading's memory and not that of libraries other rows link (bench/cmd/rsscensor
// measures the sidecar's).
package main

import (
	"fmt"
	"os"

	"github.com/prowl-ci/prowl/bench"
	"github.com/prowl-ci/prowl/bench/configload"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: rss config-prowl|config-baseline REPO_ROOT")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(bench.PeakRSSkB())
}

func run(workload, root string) error {
	switch workload {
	case "config-prowl", "config-baseline":
		in, err := configload.Find(root)
		if err != nil {
			return err
		}
		if workload == "config-prowl" {
			return configload.Prowl(in)
		}
		return configload.Baseline(in)
	}
	return fmt.Errorf("unknown workload %q", workload)
}
