package spyglass

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"gocloud.dev/blob"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/downwardapi"
	"github.com/prowl-ci/prowl/internal/podutils/gcsupload"
	"github.com/prowl-ci/prowl/internal/podutils/initupload"
	"github.com/prowl-ci/prowl/internal/podutils/metadata"
	"github.com/prowl-ci/prowl/internal/podutils/options"
	"github.com/prowl-ci/prowl/internal/podutils/sidecar"
	"github.com/prowl-ci/prowl/internal/podutils/wrapper"
	"github.com/prowl-ci/prowl/internal/storage"
)

// testBackend is a real bucket client against a real (in-process) bucket server.
type testBackend struct {
	name string
	// bucket is how the config names it.
	bucket string
	open   BucketOpener
	// served counts the bytes the bucket server sent (gs only).
	served *atomic.Int64
}

func (b testBackend) blob(t testing.TB) *blob.Bucket {
	t.Helper()
	bk, err := b.open(context.Background(), b.bucket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bk.Close() })
	return bk
}

// fileBackend is a file:// bucket in a temp dir.
func fileBackend(t testing.TB) testBackend {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return testBackend{name: "file", bucket: "file://" + dir, open: func(ctx context.Context, b string) (*blob.Bucket, error) {
		return storage.Open(ctx, b, storage.Options{})
	}}
}

// countingWriter counts what a handler writes.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return c.ResponseWriter.Write(p)
}

// gcsBackend is fake-gcs-server in process, with the real GCS client.
func gcsBackend(t testing.TB) testBackend {
	t.Helper()
	var handler http.Handler
	served := &atomic.Int64{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.ServeHTTP(countingWriter{w, served}, r)
	}))
	server, err := fakestorage.NewServerWithOptions(fakestorage.Options{NoListener: true, PublicHost: srv.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	handler = server.HTTPHandler()
	srv.Start()
	t.Cleanup(srv.Close)
	server.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "prow-artifacts"})
	endpoint := srv.URL + "/storage/v1/"
	return testBackend{name: "gs", bucket: "gs://prow-artifacts", served: served, open: func(ctx context.Context, b string) (*blob.Bucket, error) {
		return storage.Open(ctx, b, storage.Options{GCSEndpoint: endpoint})
	}}
}

// s3Backend is gofakes3 in process, with the real S3 client.
func s3Backend(t testing.TB) testBackend {
	t.Helper()
	mem := s3mem.New()
	if err := mem.CreateBucket("prow-artifacts"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(mem).Server())
	t.Cleanup(srv.Close)
	creds, _ := json.Marshal(map[string]any{"region": "us-east-1", "endpoint": strings.TrimPrefix(srv.URL, "http://"), "insecure": true, "s3_force_path_style": true, "access_key": "k", "secret_key": "s"})
	credFile := filepath.Join(t.TempDir(), "s3.json")
	if err := os.WriteFile(credFile, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	return testBackend{name: "s3", bucket: "s3://prow-artifacts", open: func(ctx context.Context, b string) (*blob.Bucket, error) {
		return storage.Open(ctx, b, storage.Options{S3CredentialsFile: credFile})
	}}
}

func allBackends(t *testing.T) []testBackend {
	return []testBackend{fileBackend(t), gcsBackend(t), s3Backend(t)}
}

// testConfig is a config whose jobs upload to bucket, with deck's section as given.
func testConfig(bucket string, deck string) *config.Config {
	c := &config.Config{}
	c.ProwJobNamespace, c.PodNamespace = "prowjobs", "test-pods"
	c.Plank.DefaultDecorationConfigs = map[string]*prowv1.DecorationConfig{"*": {GCSConfiguration: &prowv1.GCSConfiguration{Bucket: bucket, PathStrategy: "explicit"}}}
	if deck != "" {
		c.Deck = json.RawMessage(deck)
	}
	return c
}

// server is a spyglass Handler on real HTTP.
type server struct {
	*httptest.Server
	h     *Handler
	clock *clocktesting.FakeClock
}

func newServer(t testing.TB, be testBackend, cfg *config.Config, o Options) *server {
	t.Helper()
	fc := clocktesting.NewFakeClock(time.Unix(1700000600, 0))
	o.Config = func() *config.Config { return cfg }
	o.OpenBucket = be.open
	o.Clock = fc
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); _ = h.Close() })
	return &server{Server: srv, h: h, clock: fc}
}

// get fetches path and returns the status and body.
func (s *server) get(t testing.TB, p string) (int, string) {
	t.Helper()
	resp, err := http.Get(s.URL + p)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// testRun is one run to make with the real pod utilities.
type testRun struct {
	spec      downwardapi.JobSpec
	log       string
	exitCode  string
	artifacts map[string]string
	clones    []metadata.CloneRecord
	start     int64
}

// makeRun runs initupload and then the sidecar of a finished test container, as in a Pod,
// uploading to be's bucket; it returns the run directory's key.
func makeRun(t testing.TB, be testBackend, r testRun) string {
	t.Helper()
	ctx := context.Background()
	gcs := &prowv1.GCSConfiguration{Bucket: be.bucket, PathStrategy: "explicit"}
	dir, err := storage.JobDir(r.spec, gcs)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := storage.ParseBucket(be.bucket)
	target := &gcsupload.Target{Writer: storage.BucketWriter{Bucket: be.blob(t)}, Bucket: parsed, JobDir: dir, Spec: r.spec}
	logs := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(logs, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := r.start
	if start == 0 {
		start = 1700000000
	}
	up := &options.InitUpload{GCSUpload: &options.GCSUpload{GCSConfiguration: gcs}}
	if r.clones != nil {
		raw, _ := json.Marshal(r.clones)
		write("clone.json", string(raw))
		up.Log = filepath.Join(logs, "clone.json")
	}
	if err := initupload.Run(ctx, up, target, clocktesting.NewFakePassiveClock(time.Unix(start, 0))); err != nil {
		return dir // a failed clone ends the run in initupload
	}
	write("process-log.txt", r.log)
	code := r.exitCode
	if code == "" {
		code = "0"
	}
	write("marker-file.txt", code)
	write("artifacts/.keep", "")
	for k, v := range r.artifacts {
		write(filepath.Join("artifacts", k), v)
	}
	o := &options.Sidecar{
		GCSOptions: &options.GCSUpload{Items: []string{filepath.Join(logs, "artifacts")}, GCSConfiguration: gcs},
		Entries: []wrapper.Options{{Args: []string{"true"}, ProcessLog: filepath.Join(logs, "process-log.txt"), MarkerFile: filepath.Join(logs, "marker-file.txt"),
			MetadataFile: filepath.Join(logs, "artifacts", "metadata.json")}},
	}
	var out strings.Builder
	if c := sidecar.Run(ctx, o, target, clocktesting.NewFakeClock(time.Unix(start+95, 0)), &out); c != 0 {
		t.Fatalf("sidecar: exit %d: %s", c, out.String())
	}
	return dir
}

// put writes one object.
func put(t testing.TB, be testBackend, key, content string) {
	t.Helper()
	if err := be.blob(t).WriteAll(context.Background(), key, []byte(content), nil); err != nil {
		t.Fatal(err)
	}
}

// src is a run's /view/ path for the backend.
func src(be testBackend, key string) string {
	b, _ := storage.ParseBucket(be.bucket)
	return strings.TrimPrefix(b.Provider+"/"+strings.TrimPrefix(b.Name, "/")+"/"+key, "/")
}

func periodic(job, build string) downwardapi.JobSpec {
	return downwardapi.JobSpec{Type: prowv1.PeriodicJob, Job: job, BuildID: build}
}

func presubmit(job, build string, pr int, sha string) downwardapi.JobSpec {
	return downwardapi.JobSpec{Type: prowv1.PresubmitJob, Job: job, BuildID: build, Refs: &prowv1.Refs{Org: "acme", Repo: "widgets", BaseRef: "main", BaseSHA: "b45e", Pulls: []prowv1.Pull{{Number: pr, Author: "alice", SHA: sha}}}}
}
