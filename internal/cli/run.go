package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/examples"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/decorate"
	"github.com/prowl-ci/prowl/internal/downwardapi"
	"github.com/prowl-ci/prowl/internal/jobs"
	"github.com/prowl-ci/prowl/internal/localnode"
	"github.com/prowl-ci/prowl/internal/podutils/metadata"
	"github.com/prowl-ci/prowl/internal/storage"
)

func init() { subcommands = append(subcommands, newRunCommand) }

// Exit codes of prowl run: the job's result.
const (
	runSuccess = 0
	runFailure = 1
	runError   = 2
)

func newRunCommand(stdout, stderr io.Writer) *cobra.Command {
	var cfgFlags configFlags
	var job, repoPath, baseRef, baseSHA, output string
	var pull int
	cmd := &cobra.Command{
		Use:   "run --job NAME [--config-path FILE --job-config-path DIR] [--pull N --base-sha SHA --repo-path DIR] [--output DIR]",
		Short: "Run one job here, exactly as CI runs it, with no control plane",
		Long: `run builds the job's ProwJob and its decorated Pod with the same code as Horologium, Trigger
and Plank, and runs the Pod on this machine's local-node runtime (Linux, as root), with no API
server. Artifacts go to --output in Prow's layout; the build log streams here. The exit code is the
result: 0 success, 1 failure, 2 error or aborted.

For a presubmit or postsubmit, --repo-path clones from a local repository (its pull requests as
refs/pull/N/head); --base-ref defaults to main, and the base and pull SHAs are read from it.`,
		Example: `  prowl run --job echo-test
  prowl run --config-path config.yaml --job-config-path jobs/ --job pull-unit --pull 42 --repo-path ~/src/repo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if job == "" {
				return usageError{errors.New("--job is required")}
			}
			if cfgFlags.configPath == "" && cfgFlags.jobConfigPath == "" {
				dir, err := os.MkdirTemp("", "prowl-run-examples-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				bare, err := examples.InitRepo(filepath.Join(dir, "git"))
				if err != nil {
					return err
				}
				if err := writeExamples(dir, dir, "file://"+filepath.Join(dir, "git")); err != nil {
					return err
				}
				if repoPath == "" {
					repoPath = bare // the example repository's jobs clone it
				}
				cfgFlags.configPath, cfgFlags.jobConfigPath = filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs")
			}
			c, _, err := config.Load(cfgFlags.options(false))
			if err != nil {
				return fmt.Errorf("load config:\n%w", err)
			}
			refs := jobs.RefsOptions{BaseRef: baseRef, BaseSHA: baseSHA, PullNumber: pull, PullAuthor: "local"}
			if repoPath != "" {
				if refs.BaseSHA == "" {
					if refs.BaseSHA, err = gitRevParse(repoPath, baseRef); err != nil {
						return err
					}
				}
				if pull > 0 {
					if refs.PullSHA, err = gitRevParse(repoPath, fmt.Sprintf("refs/pull/%d/head", pull)); err != nil {
						return err
					}
				}
			}
			pj, err := jobs.NewBuilder(c).ForName(c, job, refs)
			if err != nil {
				return err
			}
			if pj.Spec.DecorationConfig == nil {
				return fmt.Errorf("job %s is not decorated; prowl run runs decorated jobs, whose artifacts it can collect", job)
			}
			if output, err = filepath.Abs(output); err != nil {
				return err
			}
			if err := localizeJob(pj, repoPath, output); err != nil {
				return err
			}
			ids, err := jobs.NewBuildIDs(-1)
			if err != nil {
				return err
			}
			pj.Status.BuildID = ids.Next()
			pod, err := decorate.Pod(pj, pj.Status.BuildID)
			if err != nil {
				return err
			}
			if repoPath != "" {
				if err := mountRepo(pod, repoPath); err != nil {
					return err
				}
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			work, err := os.MkdirTemp("", "prowl-run-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(work)
			fmt.Fprintf(stderr, "running %s (build %s); artifacts in %s\n", job, pj.Status.BuildID, output)
			node := &localnode.Node{Name: "local", Namespace: pod.Namespace, DataDir: work, Utilities: filepath.Dir(self), Self: self, Stream: stdout}
			phase := node.RunOnce(cmd.Context(), pod)
			code, result := runResult(pj, output)
			if code == runError {
				// Say what the containers said: the job ended before its result was recorded.
				logs, _ := filepath.Glob(filepath.Join(work, "pods", "*", "logs", "*.log"))
				for _, l := range logs {
					if raw, err := os.ReadFile(l); err == nil && len(raw) > 0 {
						fmt.Fprintf(stderr, "--- %s:\n%s\n", strings.TrimSuffix(filepath.Base(l), ".log"), tail(string(raw), 20))
					}
				}
			}
			fmt.Fprintf(stderr, "%s: %s (Pod %s)\n", job, result, phase)
			return exitError{code}
		},
	}
	cfgFlags.add(cmd)
	f := cmd.Flags()
	f.StringVar(&job, "job", "", "the job's name")
	f.IntVar(&pull, "pull", 0, "the pull request to test (presubmits)")
	f.StringVar(&baseRef, "base-ref", "main", "the base branch (presubmits, postsubmits)")
	f.StringVar(&baseSHA, "base-sha", "", "the base commit (default: the base branch's head in --repo-path)")
	f.StringVar(&repoPath, "repo-path", "", "a local repository to clone instead of the job's remote")
	f.StringVar(&output, "output", "_artifacts", "where artifacts go, in Prow's layout")
	return cmd
}

// localizeJob points a job at this machine: clones from repoPath, artifacts to output, and no
// credentials secrets, which there is no cluster to read.
func localizeJob(pj *prowv1.ProwJob, repoPath, output string) error {
	if repoPath != "" && pj.Spec.Refs != nil {
		abs, err := filepath.Abs(repoPath)
		if err != nil {
			return err
		}
		pj.Spec.Refs.CloneURI = "file://" + abs
	}
	dc := pj.Spec.DecorationConfig
	if dc.GCSConfiguration == nil {
		dc.GCSConfiguration = &prowv1.GCSConfiguration{PathStrategy: "explicit"}
	}
	dc.GCSConfiguration.LocalOutputDir = output
	dc.GCSCredentialsSecret, dc.S3CredentialsSecret, dc.SSHKeySecrets, dc.CookiefileSecret, dc.OauthTokenSecret = nil, nil, nil, nil, nil
	return os.MkdirAll(output, 0o755)
}

// mountRepo makes a local repository visible to clonerefs at its own path: clonerefs mounts a
// scratch volume at /tmp, which would hide a repository kept there.
func mountRepo(pod *corev1.Pod, repoPath string) error {
	abs, err := filepath.Abs(repoPath)
	if err != nil {
		return err
	}
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "local-repo", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: abs}}})
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == decorate.CloneRefsName {
			pod.Spec.InitContainers[i].VolumeMounts = append(pod.Spec.InitContainers[i].VolumeMounts, corev1.VolumeMount{Name: "local-repo", MountPath: abs, ReadOnly: true})
		}
	}
	return nil
}

// runResult reads the run's finished.json: the job's result, as an exit code.
func runResult(pj *prowv1.ProwJob, output string) (int, string) {
	dir, err := storage.JobDir(downwardapi.NewJobSpec(pj.Spec, pj.Status.BuildID, pj.Name), pj.Spec.DecorationConfig.GCSConfiguration)
	if err != nil {
		return runError, err.Error()
	}
	raw, err := os.ReadFile(filepath.Join(output, dir, "finished.json"))
	if err != nil {
		return runError, "no finished.json: the job did not finish"
	}
	var f metadata.Finished
	if err := json.Unmarshal(raw, &f); err != nil {
		return runError, "unreadable finished.json"
	}
	switch f.Result {
	case metadata.ResultSuccess:
		return runSuccess, "SUCCESS"
	case metadata.ResultFailure:
		return runFailure, "FAILURE"
	}
	return runError, f.Result
}

func gitRevParse(repo, ref string) (string, error) {
	out, err := exec.Command("git", "-C", repo, "rev-parse", ref).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("resolve %s in %s: %w: %s", ref, repo, err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
