package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/prowl-ci/prowl/internal/localnode/containerinit"
)

func init() { subcommands = append(subcommands, newLocalnodeExecCommand) }

// newLocalnodeExecCommand is the local node's helper: started in a new mount namespace, it mounts
// a container's volumes and becomes the container's command. It is not for people.
func newLocalnodeExecCommand(_, _ io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:                "localnode-exec",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(*cobra.Command, []string) error {
			return exitError{containerinit.Exec()}
		},
	}
}
