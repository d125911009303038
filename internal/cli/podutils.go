package cli

import (
	"io"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/prowl-ci/prowl/internal/podutils/entrypoint"
	"github.com/prowl-ci/prowl/internal/podutils/utilcmd"
	"github.com/prowl-ci/prowl/internal/podutils/utilcmd/clonerefscmd"
)

func init() {
	for _, name := range utilcmd.Names {
		subcommands = append(subcommands, func(stdout, stderr io.Writer) *cobra.Command { return newPodUtilityCommand(name, stdout, stderr) })
	}
}

// newPodUtilityCommand is `prowl clonerefs|initupload|entrypoint|sidecar`: the pod utility's own
// code, so that the local node runs it from prowl where the small binary is absent (a `go install`
// of prowl alone). It takes its options as the binary does, from the environment or its args.
func newPodUtilityCommand(name string, stdout, stderr io.Writer) *cobra.Command {
	run := map[string]func(cmd *cobra.Command, args []string) int{
		"clonerefs": func(cmd *cobra.Command, args []string) int {
			return clonerefscmd.Main(cmd.Context(), args, stderr)
		},
		"initupload": func(cmd *cobra.Command, args []string) int { return utilcmd.InitUpload(cmd.Context(), args, stderr) },
		"entrypoint": func(_ *cobra.Command, args []string) int { return entrypoint.Main(args) },
		"sidecar": func(cmd *cobra.Command, args []string) int {
			return utilcmd.Sidecar(cmd.Context(), args, stdout, stderr)
		},
	}[name]
	return &cobra.Command{
		Use:                name + " [ARGS]",
		Short:              "The " + name + " pod utility, as the " + name + " binary (the local node runs it when the binary is absent)",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := run(cmd, args); code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
}

// CommandLine is prowl's arguments from its argv: prowl run under a pod utility's name (the
// entrypoint copies itself to /tools/entrypoint, and the copy of prowl is run by that name) runs
// that utility, as busybox does.
func CommandLine(argv []string) []string {
	if len(argv) == 0 {
		return nil
	}
	if name := filepath.Base(argv[0]); slices.Contains(utilcmd.Names, name) {
		return append([]string{name}, argv[1:]...)
	}
	return argv[1:]
}
