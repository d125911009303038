package cli

import (
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/prowl-ci/prowl/internal/local"
)

func init() { subcommands = append(subcommands, newRunCommand) }

const runLong = `run builds the job's ProwJob and its decorated Pod with the same code as Horologium, Trigger
and Plank, and runs the Pod on this machine's local-node runtime (Linux, as root), with no API
server. Artifacts go to --output in Prow's layout; the build log streams here. The exit code is the
result: 0 success, 1 failure, 2 error or aborted.

For a presubmit or postsubmit, --repo-path clones from a local repository (its pull requests as
refs/pull/N/head); --base-ref defaults to main, and the base and pull SHAs are read from it.`

func newRunCommand(stdout, stderr io.Writer) *cobra.Command {
	var cfgFlags configFlags
	o := local.RunOptions{Stdout: stdout, Stderr: stderr}
	cmd := &cobra.Command{
		Use:   "run --job NAME [--config-path FILE --job-config-path DIR] [--pull N --base-sha SHA --repo-path DIR] [--output DIR]",
		Short: "Run one job here, exactly as CI runs it, with no control plane",
		Long:  runLong,
		Example: `  prowl run --job echo-test
  prowl run --config-path config.yaml --job-config-path jobs/ --job pull-unit --pull 42 --repo-path ~/src/repo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Job == "" {
				return usageError{errors.New("--job is required")}
			}
			o.Config = cfgFlags.options(false)
			o.Node.HostFilesystem = hostFilesystem(cmd)
			err := o.Run(cmd.Context())
			var re *local.ResultError
			if errors.As(err, &re) {
				return exitError{re.Code}
			}
			return err
		},
	}
	cfgFlags.add(cmd)
	f := cmd.Flags()
	f.StringVar(&o.Job, "job", "", "the job's name")
	f.IntVar(&o.Pull, "pull", 0, "the pull request to test (presubmits)")
	f.StringVar(&o.BaseRef, "base-ref", "main", "the base branch (presubmits, postsubmits)")
	f.StringVar(&o.BaseSHA, "base-sha", "", "the base commit (default: the base branch's head in --repo-path)")
	f.StringVar(&o.RepoPath, "repo-path", "", "a local repository to clone instead of the job's remote")
	f.StringVar(&o.Output, "output", "_artifacts", "where artifacts go, in Prow's layout")
	addHostFilesystemFlag(cmd, "run containers")
	f.StringVar(&o.ImagePull, "image-pull", "", "pull images: never (offline: the cache only), missing, or always (default: each container's imagePullPolicy)")
	return cmd
}
