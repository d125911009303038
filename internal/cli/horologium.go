package cli

import (
	"io"

	"github.com/spf13/cobra"
	"k8s.io/utils/clock"

	"github.com/prowl-ci/prowl/internal/horologium"
	"github.com/prowl-ci/prowl/internal/manager"
)

func init() { subcommands = append(subcommands, newHorologiumCommand) }

func newHorologiumCommand(stdout, stderr io.Writer) *cobra.Command {
	var cfgFlags configFlags
	var mgrFlags managerFlags
	cmd := &cobra.Command{
		Use:   "horologium --config-path FILE --job-config-path DIR [--kubeconfig FILE]",
		Short: "Start periodic jobs on time, and only once",
		Long: `horologium creates a ProwJob for each periodic job when it is due: interval (since the last
run started, once it is complete), minimum_interval (since the last run completed) or cron (UTC).
It checks at start, every horologium.tick_interval, and whenever the config files change. It decides
from the ProwJobs alone, so a restart or a new leader continues where the last left off.`,
		Example: `  prowl horologium --config-path config.yaml --job-config-path jobs/ --kubeconfig ~/.kube/config`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			agent, err := loadAgent(&cfgFlags, stderr)
			if err != nil {
				return err
			}
			mgr, err := manager.New(mgrFlags.options(agent.Config().ProwJobNamespace))
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if _, err := horologium.Setup(ctx, mgr, agent, clock.RealClock{}); err != nil {
				return err
			}
			return manager.Run(ctx, mgr, agent)
		},
	}
	cfgFlags.add(cmd)
	mgrFlags.add(cmd, "prowl-horologium")
	return deployed(cmd)
}
