package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/decorate"
	"github.com/prowl-ci/prowl/internal/jobs"
)

func init() { subcommands = append(subcommands, newMkpodCommand) }

func newMkpodCommand(stdout, stderr io.Writer) *cobra.Command {
	var prowJobPath, buildID string
	cmd := &cobra.Command{
		Use:   "mkpod --prowjob FILE [--build-id ID]",
		Short: "Print the Pod that Plank would create for a ProwJob, as YAML",
		Long: `mkpod decorates a ProwJob into the Pod that runs it, exactly as Plank does (the same pure
function), and prints it as YAML. Without --build-id a new build ID is taken. Read the ProwJob
from a file, or from stdin with --prowjob -.`,
		Example: `  prowl mkpj --config-path examples/config.yaml --job-config-path examples/jobs --job echo-test > pj.yaml
  prowl mkpod --prowjob pj.yaml --build-id 1131381475451604992`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if prowJobPath == "" {
				return usageError{errors.New("--prowjob is required")}
			}
			var raw []byte
			var err error
			if prowJobPath == "-" {
				raw, err = io.ReadAll(cmd.InOrStdin())
			} else {
				raw, err = os.ReadFile(prowJobPath)
			}
			if err != nil {
				return fmt.Errorf("read prowjob: %w", err)
			}
			pj := &prowv1.ProwJob{}
			if err := yaml.UnmarshalStrict(raw, pj); err != nil {
				return fmt.Errorf("%s is not a ProwJob: %w", prowJobPath, err)
			}
			if buildID == "" {
				ids, err := jobs.NewBuildIDs(-1)
				if err != nil {
					return err
				}
				buildID = ids.Next()
			}
			pod, err := decorate.Pod(pj, buildID)
			if err != nil {
				return err
			}
			out, err := yaml.Marshal(pod)
			if err != nil {
				return err
			}
			_, err = stdout.Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&prowJobPath, "prowjob", "", "the ProwJob's YAML file, or - for stdin")
	cmd.Flags().StringVar(&buildID, "build-id", "", "the build ID (default: a new one)")
	return cmd
}
