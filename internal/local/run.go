package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

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

// Exit codes of `prowl run`: the job's result.
const (
	RunSuccess = 0
	RunFailure = 1
	RunError   = 2
)

// logTailLines is how much of each container's log `prowl run` shows when a job ended in error.
const logTailLines = 20

// RunOptions are `prowl run`'s: one job, here, exactly as CI runs it, with no control plane.
type RunOptions struct {
	// Config names Prow's config files; with neither path set, the embedded examples.
	Config config.Options
	// Job is the job's name.
	Job string
	// BaseRef, BaseSHA and Pull are the refs tested (presubmits, postsubmits); BaseSHA and the
	// pull request's SHA are read from RepoPath when not given.
	BaseRef, BaseSHA string
	Pull             int
	// RepoPath is a local repository cloned instead of the job's remote.
	RepoPath string
	// Output is where artifacts go, in Prow's layout.
	Output string
	// Node says how the local node runs containers; ImagePull (never, missing, always) overrides every
	// container's imagePullPolicy.
	Node      NodeOptions
	ImagePull string
	// Stdout hears the test container's output; Stderr what prowl run says about the job.
	Stdout, Stderr io.Writer
}

// ResultError is a run that did not succeed: the job failed (Code RunFailure) or did not finish
// (RunError). Its message was printed already.
type ResultError struct {
	Code   int
	Result string
}

func (e *ResultError) Error() string { return "job " + e.Result }

// Run runs the job on this machine's local-node runtime and reads its result from finished.json.
// It returns nil on success and a *ResultError when the job failed or did not finish.
func (o RunOptions) Run(ctx context.Context) error {
	if o.Job == "" {
		return errors.New("--job is required")
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.Config.ConfigPath == "" && o.Config.JobConfigPath == "" || usesPlaceholder(o.Config, GitURLPlaceholder) {
		cleanup, err := o.useExamples()
		if err != nil {
			return err
		}
		defer cleanup()
	}
	pj, pod, c, err := o.build()
	if err != nil {
		return err
	}
	if err := applyPull(pod, o.ImagePull); err != nil {
		return err
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
	fmt.Fprintf(o.Stderr, "running %s (build %s); artifacts in %s\n", o.Job, pj.Status.BuildID, o.Output)
	node := &localnode.Node{Name: "local", Namespace: pod.Namespace, DataDir: work, Utilities: filepath.Dir(self), Self: self, Stream: o.Stdout}
	if o.Node.ImageDir == "" {
		o.Node.ImageDir = runImageDir()
	}
	o.Node.apply(node, c, o.Stderr)
	phase := node.RunOnce(ctx, pod)
	code, result := runResult(pj, o.Output)
	if code == RunError {
		// Say what the containers said: the job ended before its result was recorded.
		logs, _ := filepath.Glob(filepath.Join(work, "pods", "*", "logs", "*.log"))
		for _, l := range logs {
			if raw, err := os.ReadFile(l); err == nil && len(raw) > 0 {
				fmt.Fprintf(o.Stderr, "--- %s:\n%s\n", strings.TrimSuffix(filepath.Base(l), ".log"), tail(string(raw), logTailLines))
			}
		}
	}
	fmt.Fprintf(o.Stderr, "%s: %s (Pod %s)\n", o.Job, result, phase)
	if code != RunSuccess {
		return &ResultError{Code: code, Result: result}
	}
	return nil
}

// useExamples points the run at the embedded examples (or replaces the placeholders of the
// repository's examples/ used in place): the example repository is made in a temporary directory,
// which cleanup removes, and cloned from unless RepoPath says otherwise.
func (o *RunOptions) useExamples() (cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "prowl-run-examples-")
	if err != nil {
		return nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	bare, err := examples.InitRepo(filepath.Join(dir, "git"))
	if err != nil {
		cleanup()
		return nil, err
	}
	gitURL := "file://" + filepath.Join(dir, "git")
	if o.Config.ConfigPath == "" && o.Config.JobConfigPath == "" {
		if err := writeExamples(dir, placeholders(dir, gitURL)); err != nil {
			cleanup()
			return nil, err
		}
		o.Config.ConfigPath, o.Config.JobConfigPath = filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs")
	}
	o.Config.Placeholders = map[string]string{DataDirPlaceholder: dir, GitURLPlaceholder: gitURL}
	if o.RepoPath == "" {
		o.RepoPath = bare // the example repository's jobs clone it
	}
	return cleanup, nil
}

// build makes the job's ProwJob and decorated Pod, pointed at this machine.
func (o *RunOptions) build() (*prowv1.ProwJob, *corev1.Pod, *config.Config, error) {
	var err error
	if o.Output, err = filepath.Abs(o.Output); err != nil {
		return nil, nil, nil, err
	}
	if o.Config.Placeholders == nil {
		// The repository's examples/ name the data dir; a run keeps its artifacts in Output.
		o.Config.Placeholders = map[string]string{DataDirPlaceholder: o.Output}
	}
	c, _, err := config.Load(o.Config)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load config:\n%w", err)
	}
	refs, err := o.refs()
	if err != nil {
		return nil, nil, nil, err
	}
	pj, err := jobs.NewBuilder(c).ForName(c, o.Job, refs)
	if err != nil {
		return nil, nil, nil, err
	}
	if pj.Spec.DecorationConfig == nil {
		return nil, nil, nil, fmt.Errorf("job %s is not decorated; prowl run runs decorated jobs, whose artifacts it can collect", o.Job)
	}
	if err := localizeJob(pj, o.RepoPath, o.Output); err != nil {
		return nil, nil, nil, err
	}
	ids, err := jobs.NewBuildIDs(-1)
	if err != nil {
		return nil, nil, nil, err
	}
	pj.Status.BuildID = ids.Next()
	pod, err := decorate.Pod(pj, pj.Status.BuildID)
	if err != nil {
		return nil, nil, nil, err
	}
	if o.RepoPath != "" {
		if err := mountRepo(pod, o.RepoPath); err != nil {
			return nil, nil, nil, err
		}
	}
	return pj, pod, c, nil
}

// refs are the refs to test, their SHAs read from RepoPath where not given.
func (o *RunOptions) refs() (jobs.RefsOptions, error) {
	refs := jobs.RefsOptions{BaseRef: o.BaseRef, BaseSHA: o.BaseSHA, PullNumber: o.Pull, PullAuthor: "local"}
	if o.RepoPath == "" {
		return refs, nil
	}
	var err error
	if refs.BaseSHA == "" {
		if refs.BaseSHA, err = gitRevParse(o.RepoPath, o.BaseRef); err != nil {
			return refs, err
		}
	}
	if o.Pull > 0 {
		if refs.PullSHA, err = gitRevParse(o.RepoPath, fmt.Sprintf("refs/pull/%d/head", o.Pull)); err != nil {
			return refs, err
		}
	}
	return refs, nil
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
		return RunError, err.Error()
	}
	raw, err := os.ReadFile(filepath.Join(output, dir, "finished.json"))
	if err != nil {
		return RunError, "no finished.json: the job did not finish"
	}
	var f metadata.Finished
	if err := json.Unmarshal(raw, &f); err != nil {
		return RunError, "unreadable finished.json"
	}
	switch f.Result {
	case metadata.ResultSuccess:
		return RunSuccess, "SUCCESS"
	case metadata.ResultFailure:
		return RunFailure, "FAILURE"
	}
	return RunError, f.Result
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
