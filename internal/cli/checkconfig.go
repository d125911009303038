package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/prowl-ci/prowl/internal/config"
)

func init() { subcommands = append(subcommands, newCheckConfigCommand) }

// configFlags are the flags every component uses to find Prow's config, with Prow's names.
type configFlags struct {
	configPath    string
	jobConfigPath string
}

func (f *configFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.configPath, "config-path", "", "Prow's config file (config.yaml)")
	cmd.Flags().StringVar(&f.jobConfigPath, "job-config-path", "", "a job config file, or a directory searched recursively for .yaml and .yml files")
}

func (f *configFlags) validate() error {
	if f.configPath == "" && f.jobConfigPath == "" {
		return usageError{errors.New("set --config-path, --job-config-path, or both")}
	}
	return nil
}

func (f *configFlags) options(strict bool) config.Options {
	return config.Options{ConfigPath: f.configPath, JobConfigPath: f.jobConfigPath, Strict: strict}
}

func newCheckConfigCommand(stdout, stderr io.Writer) *cobra.Command {
	var flags configFlags
	var strict bool
	cmd := &cobra.Command{
		Use:   "checkconfig --config-path FILE [--job-config-path DIR] [--strict]",
		Short: "Load, default and validate Prow's config; print every problem",
		Long: `checkconfig loads Prow's config exactly as the components do, defaults it and validates it.
It prints every problem on stderr, one per line, naming the file, line, job and field, and exits 1
when the config is invalid. A valid config exits 0 and the last line on stdout counts the jobs.
Unknown keys are warnings, or errors with --strict.`,
		Example: `  prowl checkconfig --config-path config/prow/config.yaml --job-config-path config/jobs`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := flags.validate(); err != nil {
				return err
			}
			c, warnings, err := config.Load(flags.options(strict))
			for _, w := range warnings {
				fmt.Fprintf(stderr, "warning: %v\n", w)
			}
			var problems config.Errors
			if errors.As(err, &problems) {
				for _, p := range problems {
					fmt.Fprintf(stderr, "error: %v\n", p)
				}
				fmt.Fprintf(stderr, "%d errors: the config is invalid\n", len(problems))
				return exitError{ExitFailure}
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, c.Summary())
			return nil
		},
	}
	flags.add(cmd)
	cmd.Flags().BoolVar(&strict, "strict", false, "treat unknown keys as errors")
	return cmd
}
