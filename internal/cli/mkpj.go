package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/jobs"
)

func init() { subcommands = append(subcommands, newMkpjCommand) }

func newMkpjCommand(stdout, stderr io.Writer) *cobra.Command {
	var flags configFlags
	var job string
	var refs jobs.RefsOptions
	cmd := &cobra.Command{
		Use:   "mkpj --config-path FILE --job-config-path DIR --job NAME [refs flags]",
		Short: "Print the ProwJob that would run a job, as YAML",
		Long: `mkpj builds the ProwJob of one run of a job exactly as Horologium and Trigger do (the same
builder), and prints it as YAML. A presubmit needs the pull request's refs, a postsubmit the base
ref and SHA. Pipe it to kubectl to run the job: prowl mkpj ... | kubectl create -f -`,
		Example: `  prowl mkpj --config-path examples/config.yaml --job-config-path examples/jobs --job echo-test
  prowl mkpj --config-path config.yaml --job-config-path jobs --job pull-unit \
    --base-ref main --base-sha 0a1b2c --pull-number 42 --pull-sha 3d4e5f --pull-author alice`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := flags.validate(); err != nil {
				return err
			}
			if job == "" {
				return usageError{errors.New("--job is required")}
			}
			c, _, err := config.Load(flags.options(false))
			if err != nil {
				return fmt.Errorf("load config:\n%w", err)
			}
			pj, err := jobs.NewBuilder(c).ForName(c, job, refs)
			if err != nil {
				return err
			}
			out, err := yaml.Marshal(pj)
			if err != nil {
				return err
			}
			_, err = stdout.Write(out)
			return err
		},
	}
	flags.add(cmd)
	f := cmd.Flags()
	f.StringVar(&job, "job", "", "the job's name")
	f.StringVar(&refs.BaseRef, "base-ref", "", "the base branch (presubmits, postsubmits)")
	f.StringVar(&refs.BaseSHA, "base-sha", "", "the base branch's commit (presubmits, postsubmits)")
	f.IntVar(&refs.PullNumber, "pull-number", 0, "the pull request's number (presubmits)")
	f.StringVar(&refs.PullSHA, "pull-sha", "", "the pull request's head commit (presubmits)")
	f.StringVar(&refs.PullAuthor, "pull-author", "", "the pull request's author (presubmits)")
	f.StringVar(&refs.PullHeadRef, "pull-head-ref", "", "the pull request's branch (presubmits)")
	return cmd
}
