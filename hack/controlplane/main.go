// Command controlplane builds kube-apiserver, etcd and kubectl into the cache once (see
// internal/cpbuild) and prints the directory that holds them, for KUBEBUILDER_ASSETS.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/prowl-ci/prowl/internal/cpbuild"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dir, err := cpbuild.Ensure(ctx, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(dir)
}
