// Package podutils_test runs the four pod utilities in order, as a decorated Pod runs them, with no
// Kubernetes: the options come from the Pod that decorate makes, with the Pod's mount paths moved
// into temporary directories.
package podutils_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/decorate"
	"github.com/prowl-ci/prowl/internal/downwardapi"
	"github.com/prowl-ci/prowl/internal/podutils/clonerefs"
	"github.com/prowl-ci/prowl/internal/podutils/gcsupload"
	"github.com/prowl-ci/prowl/internal/podutils/initupload"
	"github.com/prowl-ci/prowl/internal/podutils/metadata"
	"github.com/prowl-ci/prowl/internal/podutils/options"
	"github.com/prowl-ci/prowl/internal/podutils/sidecar"
	"github.com/prowl-ci/prowl/internal/testutil"
)

func env(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func TestFourUtilitiesInOrder(t *testing.T) {
	t.Parallel()
	repo := testutil.NewGitRepo(t, "org", "repo")
	base := repo.Git(repo.Work, "rev-parse", "main")
	pr := repo.PullRequest("1", "feature.txt", "from the pull request\n")
	root := t.TempDir()
	bucket := filepath.Join(root, "bucket")
	secret := func(s string) *string { return &s }
	pj := &prowv1.ProwJob{}
	pj.Name = "pj-1"
	pj.Spec = prowv1.ProwJobSpec{
		Type: prowv1.PresubmitJob, Agent: prowv1.KubernetesAgent, Job: "pull-unit", Namespace: "test-pods",
		Refs: &prowv1.Refs{Org: "org", Repo: "repo", BaseRef: "main", BaseSHA: base, CloneURI: repo.ServeHTTP(),
			Pulls: []prowv1.Pull{{Number: 1, Author: "alice", SHA: pr}}},
		DecorationConfig: &prowv1.DecorationConfig{
			UtilityImages:        &prowv1.UtilityImages{CloneRefs: "c", InitUpload: "i", Entrypoint: "e", Sidecar: "s"},
			GCSConfiguration:     &prowv1.GCSConfiguration{Bucket: "file://" + bucket, PathStrategy: "explicit"},
			GCSCredentialsSecret: secret(""),
		},
		PodSpec: &corev1.PodSpec{Containers: []corev1.Container{{Image: "any", Command: []string{"sh", "-c"},
			Args: []string{`cat feature.txt > "$ARTIFACTS/copied.txt" && echo "job $JOB_NAME build $BUILD_ID pull $PULL_NUMBER"`}}}},
	}
	pod, err := decorate.Pod(pj, "1234")
	if err != nil {
		t.Fatal(err)
	}
	// The Pod's mount paths, moved under root.
	paths := strings.NewReplacer(decorate.LogMountPath, filepath.Join(root, "logs"), decorate.CodeMountPath, filepath.Join(root, "code"), decorate.ToolsMountPath, filepath.Join(root, "tools"))
	load := func(c corev1.Container, name string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(paths.Replace(env(c, name))), v); err != nil {
			t.Fatalf("%s of %s: %v", name, c.Name, err)
		}
	}
	ctx := context.Background()
	now := clocktesting.NewFakeClock(time.Unix(1700000000, 0))
	var spec downwardapi.JobSpec
	load(pod.Spec.Containers[0], downwardapi.JobSpecEnv, &spec)

	// 1. clonerefs
	var cloneOpts options.CloneRefs
	load(pod.Spec.InitContainers[0], options.CloneRefsEnv, &cloneOpts)
	if err := clonerefs.Run(ctx, &cloneOpts); err != nil {
		t.Fatal(err)
	}
	// 2. initupload
	var initOpts options.InitUpload
	load(pod.Spec.InitContainers[1], options.InitUploadEnv, &initOpts)
	target, err := gcsupload.Open(ctx, initOpts.GCSUpload, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := initupload.Run(ctx, &initOpts, target, now); err != nil {
		t.Fatal(err)
	}
	// 3. place-entrypoint, then the test container through the entrypoint, as the kubelet runs it.
	tools := filepath.Join(root, "tools", "entrypoint")
	if out, err := exec.Command(testutil.BuildBinary(t, "./cmd/entrypoint"), "--copy-mode-only", tools).CombinedOutput(); err != nil {
		t.Fatalf("place-entrypoint: %v %s", err, out)
	}
	test := pod.Spec.Containers[0]
	cmd := exec.Command(paths.Replace(test.Command[0]))
	cmd.Dir = paths.Replace(test.WorkingDir)
	for _, e := range test.Env {
		cmd.Env = append(cmd.Env, e.Name+"="+paths.Replace(e.Value))
	}
	cmd.Env = append(cmd.Env, "PATH="+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("test container: %v\n%s", err, out)
	}
	// 4. the sidecar
	var sideOpts options.Sidecar
	load(pod.Spec.Containers[1], options.SidecarEnv, &sideOpts)
	if code := sidecar.Run(ctx, &sideOpts, target, now, os.Stderr); code != 0 {
		t.Fatalf("sidecar exit %d", code)
	}

	// The bucket holds exactly the files Prow writes, at Prow's paths.
	var got []string
	_ = filepath.WalkDir(bucket, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(bucket, p)
			got = append(got, rel)
		}
		return nil
	})
	sort.Strings(got)
	dir := "pr-logs/pull/org_repo/1/pull-unit/1234/"
	want := []string{
		"pr-logs/directory/pull-unit/1234.txt",
		"pr-logs/directory/pull-unit/latest-build.txt",
		dir + "artifacts/copied.txt",
		dir + "build-log.txt",
		dir + "clone-log.txt",
		dir + "clone-records.json",
		dir + "finished.json",
		dir + "started.json",
		"pr-logs/pull/org_repo/1/pull-unit/latest-build.txt",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("bucket files (-want +got):\n%s", diff)
	}
	read := func(rel string) string {
		raw, err := os.ReadFile(filepath.Join(bucket, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	if got := read(dir + "artifacts/copied.txt"); got != "from the pull request\n" {
		t.Errorf("the test did not see the pull request's merge: %q", got)
	}
	if got := read(dir + "build-log.txt"); got != "job pull-unit build 1234 pull 1\n" {
		t.Errorf("build-log.txt %q", got)
	}
	if got := read("pr-logs/directory/pull-unit/latest-build.txt"); got != "1234" {
		t.Errorf("latest-build.txt %q", got)
	}
	if got := read("pr-logs/directory/pull-unit/1234.txt"); got != "file://"+bucket+"/"+strings.TrimSuffix(dir, "/") {
		t.Errorf("directory alias %q", got)
	}
	var started metadata.Started
	var records []metadata.CloneRecord
	if err := json.Unmarshal([]byte(read(dir+"started.json")), &started); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(read(dir+"clone-records.json")), &records); err != nil {
		t.Fatal(err)
	}
	if started.Pull != "1" || started.RepoCommit != records[0].FinalSHA || started.Repos["org/repo"] != "main:"+base+",1:"+pr {
		t.Errorf("started.json %+v", started)
	}
	var finished metadata.Finished
	if err := json.Unmarshal([]byte(read(dir+"finished.json")), &finished); err != nil {
		t.Fatal(err)
	}
	if !*finished.Passed || finished.Result != "SUCCESS" {
		t.Errorf("finished.json %+v", finished)
	}
}
