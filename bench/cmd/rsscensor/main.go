// Command rsscensor writes a 1 GB log with secrets in it, censors it as the sidecar does, and
// prints its peak resident set size (VmHWM, in kB). It links what the sidecar links.
package main

import (
	"fmt"
	"os"

	"github.com/prowl-ci/prowl/bench"
	"github.com/prowl-ci/prowl/bench/podutilsbench"
)

func main() {
	dir, err := os.MkdirTemp("", "prowl-censor-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	if err := podutilsbench.CensorLargeLog(dir, 1<<30); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(bench.PeakRSSkB())
}
