package initupload

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/downwardapi"
	"github.com/prowl-ci/prowl/internal/podutils/gcsupload"
	"github.com/prowl-ci/prowl/internal/podutils/metadata"
	"github.com/prowl-ci/prowl/internal/podutils/options"
)

func TestCloneFailureEndsTheRun(t *testing.T) {
	t.Parallel()
	dir, bucket := t.TempDir(), t.TempDir()
	refs := prowv1.Refs{Org: "o", Repo: "r", BaseRef: "main", Pulls: []prowv1.Pull{{Number: 7, SHA: "f00"}}}
	records := []metadata.CloneRecord{{Refs: refs, Failed: true, Commands: []metadata.Command{{Command: "git fetch origin pull/7/head", Output: "fatal: couldn't find remote ref\n", Error: "exit status 128"}}}}
	raw, _ := json.Marshal(records)
	cloneLog := filepath.Join(dir, "clone.json")
	if err := os.WriteFile(cloneLog, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	o := &options.InitUpload{Log: cloneLog, GCSUpload: &options.GCSUpload{GCSConfiguration: &prowv1.GCSConfiguration{Bucket: "file://" + bucket, PathStrategy: "explicit"}}}
	spec := downwardapi.JobSpec{Type: prowv1.PresubmitJob, Job: "pull", BuildID: "5", Refs: &refs}
	target, err := gcsupload.Open(context.Background(), o.GCSUpload, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	err = Run(context.Background(), o, target, clocktesting.NewFakeClock(time.Unix(100, 0)))
	if !errors.Is(err, ErrCloneFailed) {
		t.Fatalf("Run = %v, want ErrCloneFailed", err)
	}
	jobDir := filepath.Join(bucket, "pr-logs/pull/o_r/7/pull/5")
	var f metadata.Finished
	raw, err = os.ReadFile(filepath.Join(jobDir, "finished.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &f); err != nil || *f.Passed || f.Result != "FAILURE" || f.Revision != "f00" {
		t.Errorf("finished.json %s (%v)", raw, err)
	}
	log, err := os.ReadFile(filepath.Join(jobDir, "build-log.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Cloning o/r at main\nChecking out pull request 7(f00)\n$ git fetch origin pull/7/head\nfatal: couldn't find remote ref\n# Error: exit status 128\n# FAILED!\n\n"; string(log) != want {
		t.Errorf("build-log.txt:\n%s\nwant\n%s", log, want)
	}
	for _, f := range []string{"started.json", "clone-log.txt", "clone-records.json"} {
		if _, err := os.Stat(filepath.Join(jobDir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
