package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/prowl-ci/prowl/internal/local"
	"github.com/prowl-ci/prowl/internal/manager"
)

func init() { subcommands = append(subcommands, newNodeCommand) }

const nodeLong = `node runs the local node against a cluster: it registers the Node prowl-local, binds the
unscheduled Pods of the config's pod_namespace to it, and runs each Pod's containers as processes
on this machine (as root, each in a mount namespace of its own where its volumes appear), writing
their status back as a kubelet does. It is the node 'prowl up' runs in its own process, for when
the control plane and the controllers run elsewhere (prowl up --kubeconfig, or each component as
its own command).

Each container runs in its image, pulled into --data-dir, with the pod utilities of prowl.local/
images run from the binaries beside prowl (prowl itself where they are absent). With
--host-filesystem (the default for a config whose utility_images are prowl.local/..., as the
examples') containers run on this machine's filesystem and images are not pulled.

A node stopped or killed while Pods ran takes their containers with it, and fails those Pods as
disrupted when it starts again; Plank then recreates them, up to plank.max_revivals.`

func newNodeCommand(stdout, stderr io.Writer) *cobra.Command {
	var cfgFlags configFlags
	var mo manager.Options
	var dataDir string
	cmd := &cobra.Command{
		Use:   "node --config-path FILE --kubeconfig FILE [--data-dir DIR] [--host-filesystem]",
		Short: "Run the local node against a cluster: its Pods run as processes on this machine",
		Long:  nodeLong,
		Example: `  prowl up --kubeconfig ~/.kube/config &
  sudo prowl node --config-path config.yaml --kubeconfig ~/.kube/config --data-dir /var/lib/prowl-node`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgFlags.configPath == "" {
				return usageError{errors.New("node needs --config-path: the config's pod_namespace says whose Pods it runs")}
			}
			if os.Geteuid() != 0 {
				return errors.New("the local node runs each container in a mount namespace of its own, which needs root: run prowl node as root")
			}
			var err error
			if dataDir, err = dataDirOrDefault(dataDir); err != nil {
				return err
			}
			agent, err := loadAgent(&cfgFlags, stderr)
			if err != nil {
				return err
			}
			c := agent.Config()
			// A node runs whether or not another process leads: no Lease; and no servers to collide with.
			mo.Namespaces, mo.MetricsAddr, mo.HealthAddr = []string{c.PodNamespace}, "0", "0"
			mgr, err := manager.New(mo)
			if err != nil {
				return err
			}
			if err := local.AddNode(mgr, c, dataDir, local.NodeOptions{HostFilesystem: hostFilesystem(cmd)}, stdout); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "local node %s runs the Pods of %s on this machine; its files are under %s\n", local.NodeName, c.PodNamespace, filepath.Join(dataDir, "node"))
			return manager.Run(cmd.Context(), mgr, agent)
		},
	}
	cfgFlags.add(cmd)
	addKubeconfigFlag(cmd, &mo.Kubeconfig)
	addQPSFlags(cmd, &mo)
	fl := cmd.Flags()
	fl.StringVar(&dataDir, "data-dir", "", "where the node keeps each Pod's volumes and logs, and pulled images, under node/ (default ~/.local/share/prowl, as prowl up's)")
	addHostFilesystemFlag(cmd, "run containers")
	return cmd
}

// addHostFilesystemFlag adds --host-filesystem ("<what> on this machine's filesystem") to prowl up,
// node or run.
func addHostFilesystemFlag(cmd *cobra.Command, what string) {
	cmd.Flags().Bool("host-filesystem", false, what+" on this machine's filesystem, not in their images (default: only when the config's utility_images are prowl.local/..., as the examples' are)")
}

// hostFilesystem is --host-filesystem's value, nil when it was not given, so that
// local.NodeOptions chooses from the config.
func hostFilesystem(cmd *cobra.Command) *bool {
	if !cmd.Flags().Changed("host-filesystem") {
		return nil
	}
	v, _ := cmd.Flags().GetBool("host-filesystem")
	return &v
}
