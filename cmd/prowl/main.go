// Command prowl is Prowl's control-plane binary: one subcommand per component and tool.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/prowl-ci/prowl/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, cli.CommandLine(os.Args), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
