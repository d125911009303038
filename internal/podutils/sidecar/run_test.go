package sidecar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/downwardapi"
	"github.com/prowl-ci/prowl/internal/podutils/gcsupload"
	"github.com/prowl-ci/prowl/internal/podutils/metadata"
	"github.com/prowl-ci/prowl/internal/podutils/options"
	"github.com/prowl-ci/prowl/internal/podutils/wrapper"
	"github.com/prowl-ci/prowl/internal/storage"
)

// fixedNow is a fake clock at the time finished.json must carry.
func fixedNow() *clocktesting.FakeClock { return clocktesting.NewFakeClock(time.Unix(1700000000, 0)) }

// notDoneWhileWaiting waits until Run waits on its clock for the markers (the event that proves
// it looked and found them missing) and checks that it has not finished.
func notDoneWhileWaiting(t *testing.T, clk *clocktesting.FakeClock, done <-chan int, what string) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return clk.HasWaiters(), nil
	}); err != nil {
		t.Fatalf("%s: the sidecar never waited for the marker", what)
	}
	clk.Step(pollInterval) // a poll finds the marker still missing
	select {
	case <-done:
		t.Fatalf("%s: the sidecar finished before the marker existed", what)
	default:
	}
}

type run struct {
	logs, bucket string
	o            *options.Sidecar
	t            *gcsupload.Target
}

// newRun lays out a Pod's /logs in a temp dir for containers, and a file:// bucket.
func newRun(t *testing.T, containers ...string) *run {
	t.Helper()
	r := &run{logs: t.TempDir(), bucket: t.TempDir()}
	r.o = &options.Sidecar{
		GCSOptions: &options.GCSUpload{Items: []string{filepath.Join(r.logs, "artifacts")}, GCSConfiguration: &prowv1.GCSConfiguration{Bucket: "file://" + r.bucket, PathStrategy: "explicit"}},
	}
	for _, c := range containers {
		prefix := c + "-"
		if len(containers) == 1 {
			prefix = ""
		}
		r.o.Entries = append(r.o.Entries, wrapper.Options{
			Args: []string{"true"}, ContainerName: c,
			ProcessLog:   filepath.Join(r.logs, prefix+"process-log.txt"),
			MarkerFile:   filepath.Join(r.logs, prefix+"marker-file.txt"),
			MetadataFile: filepath.Join(r.logs, "artifacts", prefix+"metadata.json"),
		})
	}
	spec := downwardapi.JobSpec{Type: prowv1.PostsubmitJob, Job: "post", BuildID: "42", Refs: &prowv1.Refs{Org: "o", Repo: "r", BaseRef: "main", BaseSHA: "abc"}}
	target, err := gcsupload.Open(context.Background(), r.o.GCSOptions, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = target.Close() })
	r.t = target
	return r
}

func (r *run) write(t *testing.T, rel, content string) {
	t.Helper()
	p := filepath.Join(r.logs, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (r *run) uploaded(t *testing.T, rel string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(r.bucket, "logs", "post", "42", rel))
	if err != nil {
		t.Fatalf("%s was not uploaded: %v", rel, err)
	}
	return string(raw)
}

func (r *run) finished(t *testing.T) metadata.Finished {
	t.Helper()
	var f metadata.Finished
	if err := json.Unmarshal([]byte(r.uploaded(t, "finished.json")), &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestUploadsLogArtifactsAndFinished(t *testing.T) {
	t.Parallel()
	r := newRun(t, "test")
	r.write(t, "process-log.txt", "it works\n")
	r.write(t, "artifacts/junit.xml", "<testsuite/>")
	r.write(t, "artifacts/nested/deep/report.txt", "deep")
	r.write(t, "artifacts/metadata.json", `{"version":"v1.2.3","links":{"a":"b"}}`)
	r.write(t, "marker-file.txt", "0")
	var log bytes.Buffer
	if code := Run(context.Background(), r.o, r.t, fixedNow(), &log); code != 0 {
		t.Fatalf("exit %d: %s", code, log.String())
	}
	if got := r.uploaded(t, "build-log.txt"); got != "it works\n" {
		t.Errorf("build-log.txt %q", got)
	}
	if got := r.uploaded(t, "artifacts/nested/deep/report.txt"); got != "deep" {
		t.Errorf("nested artifact %q", got)
	}
	r.uploaded(t, "artifacts/junit.xml")
	f := r.finished(t)
	if *f.Passed != true || f.Result != "SUCCESS" || *f.Timestamp != 1700000000 || f.Revision != "abc" || f.Metadata["version"] != "v1.2.3" {
		t.Errorf("finished.json %+v", f)
	}
}

func TestSeveralContainers(t *testing.T) {
	t.Parallel()
	r := newRun(t, "unit", "lint")
	r.write(t, "unit-process-log.txt", "unit ok\n")
	r.write(t, "lint-process-log.txt", "lint failed\n")
	r.write(t, "unit-marker-file.txt", "0")
	r.write(t, "lint-marker-file.txt", "1")
	if code := Run(context.Background(), r.o, r.t, fixedNow(), &bytes.Buffer{}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if r.uploaded(t, "unit-build-log.txt") != "unit ok\n" || r.uploaded(t, "lint-build-log.txt") != "lint failed\n" {
		t.Error("per-container logs")
	}
	if f := r.finished(t); *f.Passed || f.Result != "FAILURE" {
		t.Errorf("finished.json %+v, want FAILURE", f)
	}
	r.o.EntryError = true
	if code := Run(context.Background(), r.o, r.t, fixedNow(), &bytes.Buffer{}); code != 1 {
		t.Errorf("entry_error with a failed entry: exit %d, want 1", code)
	}
}

// TestWaitsForMarkers: the sidecar uploads only once the marker appears.
func TestWaitsForMarkers(t *testing.T) {
	t.Parallel()
	r := newRun(t, "test")
	r.write(t, "process-log.txt", "done\n")
	done := make(chan int, 1)
	clk := fixedNow()
	go func() { done <- Run(context.Background(), r.o, r.t, clk, &bytes.Buffer{}) }()
	notDoneWhileWaiting(t, clk, done, "no marker")
	r.write(t, "marker-file.txt", "0")
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	if f := r.finished(t); f.Result != "SUCCESS" {
		t.Errorf("finished %+v", f)
	}
}

func TestInterruptBeforeMarkersIsAborted(t *testing.T) {
	t.Parallel()
	r := newRun(t, "test")
	r.write(t, "process-log.txt", "half way\n")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if code := Run(ctx, r.o, r.t, fixedNow(), &bytes.Buffer{}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if f := r.finished(t); *f.Passed || f.Result != "ABORTED" {
		t.Errorf("finished %+v, want ABORTED", f)
	}
	if r.uploaded(t, "build-log.txt") != "half way\n" {
		t.Error("the partial log was not uploaded")
	}

	// With ignore_interrupts the sidecar keeps waiting for the test.
	r2 := newRun(t, "test")
	r2.o.IgnoreInterrupts = true
	done := make(chan int, 1)
	clk := fixedNow()
	go func() { done <- Run(ctx, r2.o, r2.t, clk, &bytes.Buffer{}) }()
	notDoneWhileWaiting(t, clk, done, "ignore_interrupts")
	r2.write(t, "marker-file.txt", "0")
	<-done
	if f := r2.finished(t); f.Result != "SUCCESS" {
		t.Errorf("finished %+v", f)
	}
}

type failing struct {
	storage.Writer
	left atomic.Int32
}

func (f *failing) Write(ctx context.Context, key string, src storage.Source, ct string) error {
	if f.left.Add(-1) >= 0 {
		return errors.New("connection reset")
	}
	return f.Writer.Write(ctx, key, src, ct)
}

func TestUploadFailureRetriedAndReported(t *testing.T) {
	t.Parallel()
	r := newRun(t, "test")
	r.write(t, "process-log.txt", "x\n")
	r.write(t, "marker-file.txt", "0")
	f := &failing{Writer: r.t.Writer.(storage.Retrying).Writer}
	f.left.Store(1)
	r.t.Writer = storage.Retrying{Writer: f, Attempts: 3}
	var log bytes.Buffer
	if code := Run(context.Background(), r.o, r.t, fixedNow(), &log); code != 0 {
		t.Fatalf("a transient failure was not retried: exit %d %s", code, log.String())
	}
	f.left.Store(1000)
	log.Reset()
	if code := Run(context.Background(), r.o, r.t, fixedNow(), &log); code != 1 || !strings.Contains(log.String(), "connection reset") {
		t.Errorf("a lasting failure: exit %d, log %q", code, log.String())
	}
}
