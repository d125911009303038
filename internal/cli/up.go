package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/prowl-ci/prowl/examples"
	"github.com/prowl-ci/prowl/internal/controlplane"
	"github.com/prowl-ci/prowl/internal/cpbuild"
	"github.com/prowl-ci/prowl/internal/gitserve"
	"github.com/prowl-ci/prowl/internal/horologium"
	"github.com/prowl-ci/prowl/internal/jobs"
	"github.com/prowl-ci/prowl/internal/localnode"
	"github.com/prowl-ci/prowl/internal/plank"
)

func init() { subcommands = append(subcommands, newUpCommand) }

func newUpCommand(stdout, stderr io.Writer) *cobra.Command {
	var cfgFlags configFlags
	var kubeconfig, dataDir, gitAddr, hookAddr string
	var gh githubFlags
	var hf hookFlags
	cmd := &cobra.Command{
		Use:   "up [--config-path FILE --job-config-path DIR] [--kubeconfig FILE] [--data-dir DIR]",
		Short: "Run Prowl in one process: a local control plane (or your cluster), Horologium, Plank, Hook and Crier",
		Long: `up runs Horologium and Plank in one process. Without --kubeconfig it first starts a local
kube-apiserver and etcd on loopback (built from their Go modules into ~/.cache/prowl on first
use, about 7 minutes once, with progress shown), keeping their data in
--data-dir so a restart keeps every ProwJob, and writes an admin kubeconfig there. Without config
flags it runs the embedded examples (the seed's echo-test periodic). Ctrl-C stops everything.

Locally a node runs each Pod's containers as processes on this machine (as root, each in a mount
namespace of its own where its volumes appear; images are not pulled) with the pod utilities built
beside prowl. With --kubeconfig it uses that cluster and starts no node.

With GitHub credentials (--github-token-path, or --github-app-id and --github-app-private-key-path)
Crier reports results to GitHub, and with --hmac-secret-file too Hook serves webhooks on --hook-addr
(default :8888) and its trigger plugin starts presubmits and postsubmits.`,
		Example: `  prowl up
  prowl up --config-path config.yaml --job-config-path jobs/ --kubeconfig ~/.kube/config`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctrl.SetLogger(zap.New(zap.WriteTo(stderr)))
			ctx := cmd.Context()
			if dataDir == "" {
				home, err := os.UserHomeDir()
				if err != nil {
					return err
				}
				dataDir = filepath.Join(home, ".local", "share", "prowl")
			}
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				return err
			}
			if cfgFlags.configPath == "" && cfgFlags.jobConfigPath == "" {
				dir := filepath.Join(dataDir, "examples")
				gitURL, err := serveExampleRepo(ctx, filepath.Join(dataDir, "git"), gitAddr)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "example repository: %s/%s (clone it; push to %s)\n", gitURL, examples.RepoPath, filepath.Join(dataDir, "git", examples.RepoPath))
				if err := writeExamples(dir, dataDir, gitURL); err != nil {
					return err
				}
				cfgFlags.configPath, cfgFlags.jobConfigPath = filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs")
				fmt.Fprintf(stdout, "config: the embedded examples, written to %s\n", dir)
			}
			agent, err := loadAgent(&cfgFlags, stderr)
			if err != nil {
				return err
			}
			c := agent.Config()
			var mgrFlags managerFlags
			mgrFlags.kubeconfig, mgrFlags.qps, mgrFlags.burst = kubeconfig, 300, 600
			if kubeconfig == "" {
				assets, err := cpbuild.Ensure(ctx, stdout) // once per machine: builds the binaries
				if err != nil {
					return err
				}
				fmt.Fprintln(stdout, "starting the local control plane (kube-apiserver and etcd on loopback)...")
				cp, err := controlplane.Start(ctx, controlplane.Options{Assets: assets, DataDir: dataDir, Namespaces: []string{c.ProwJobNamespace, c.PodNamespace}})
				if err != nil {
					return err
				}
				defer func() {
					fmt.Fprintln(stdout, "stopping the local control plane")
					_ = cp.Stop()
				}()
				mgrFlags.kubeconfig = cp.Kubeconfig
				fmt.Fprintf(stdout, "kubeconfig: %s\n  kubectl --kubeconfig %s get prowjobs\n", cp.Kubeconfig, cp.Kubeconfig)
			}
			restCfg, err := mgrFlags.restConfig()
			if err != nil {
				return err
			}
			scheme, err := Scheme()
			if err != nil {
				return err
			}
			mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
				Scheme:                 scheme,
				Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{c.ProwJobNamespace: {}, c.PodNamespace: {}}},
				Metrics:                metricsserver.Options{BindAddress: "0"},
				HealthProbeBindAddress: "0",
			})
			if err != nil {
				return err
			}
			if _, err := horologium.Setup(ctx, mgr, agent, clock.RealClock{}); err != nil {
				return err
			}
			ids, err := jobs.NewBuildIDs(-1)
			if err != nil {
				return err
			}
			if _, err := plank.Setup(ctx, mgr, plank.Options{Config: agent.Config, Clock: clock.RealClock{}, BuildIDs: ids, Workers: 16}); err != nil {
				return err
			}
			if kubeconfig == "" {
				self, err := os.Executable()
				if err != nil {
					return err
				}
				node := &localnode.Node{Name: "prowl-local", Namespace: c.PodNamespace, Client: mgr.GetClient(),
					DataDir: filepath.Join(dataDir, "node"), Utilities: filepath.Dir(self), Self: self}
				if err := node.Setup(mgr); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "local node prowl-local runs the Pods of %s on this machine; artifacts go where the decoration config says (the examples: file://%s/artifacts)\n", c.PodNamespace, dataDir)
			}
			components := []string{"Horologium", "Plank"}
			if gh.set() {
				started, err := startGitHubSide(ctx, mgr, restCfg, agent, &gh, &hf, hookAddr, stdout, stderr)
				if err != nil {
					return err
				}
				components = append(components, started...)
			}
			fmt.Fprintf(stdout, "running %s on %d periodics, %d presubmits' repos, %d postsubmits' repos; Ctrl-C stops\n",
				strings.Join(components, ", "), len(c.Periodics), len(c.PresubmitsStatic), len(c.PostsubmitsStatic))
			if err := runManager(ctx, mgr, agent); err != nil && !errors.Is(err, ctx.Err()) {
				return err
			}
			return nil
		},
	}
	cfgFlags.add(cmd)
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "use this cluster instead of starting a local control plane")
	gh.add(cmd)
	hf.add(cmd)
	cmd.Flags().StringVar(&hookAddr, "hook-addr", ":8888", "where Hook serves webhooks (with GitHub credentials and --hmac-secret-file)")
	cmd.Flags().StringVar(&gitAddr, "git-addr", "127.0.0.1:8889", "where the embedded examples' repository is served over HTTP (examples only)")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "where the local control plane keeps its data and kubeconfig (default ~/.local/share/prowl)")
	return cmd
}

// serveExampleRepo makes the example repository under root (once) and serves root over HTTP at
// addr until ctx ends; it returns the served URL.
func serveExampleRepo(ctx context.Context, root, addr string) (string, error) {
	if _, err := examples.InitRepo(root); err != nil {
		return "", err
	}
	h, err := gitserve.Handler(root)
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("serve the example repository: %w (choose another address with --git-addr)", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return "http://" + ln.Addr().String(), nil
}

// writeExamples writes the embedded example config into dir, with the data dir in place of
// PROWL_DATA_DIR (where artifacts go) and gitURL in place of PROWL_GIT_URL.
func writeExamples(dir, dataDir, gitURL string) error {
	return fs.WalkDir(examples.Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, p)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := examples.Files.ReadFile(p)
		if err != nil {
			return err
		}
		text := strings.NewReplacer("PROWL_DATA_DIR", dataDir, "PROWL_GIT_URL", gitURL).Replace(string(data))
		return os.WriteFile(target, []byte(text), 0o644)
	})
}
