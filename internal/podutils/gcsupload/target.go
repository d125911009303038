// Package gcsupload says where a run's files go: it opens the bucket of a job's upload options
// and names each file's key in Prow's layout. initupload and the sidecar share it.
package gcsupload

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"time"

	"gocloud.dev/blob"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/downwardapi"
	"github.com/prowl-ci/prowl/internal/podutils/options"
	"github.com/prowl-ci/prowl/internal/storage"
)

// Target is a run's directory in its bucket.
type Target struct {
	// Writer writes objects, with retries.
	Writer storage.Writer
	// Bucket is the parsed bucket (or the local output directory).
	Bucket storage.Bucket
	// JobDir is the run's directory inside the bucket.
	JobDir string
	// SubDir goes between JobDir and the run's files.
	SubDir string
	// MediaTypes maps extensions to content types.
	MediaTypes map[string]string
	// Spec is the job run.
	Spec downwardapi.JobSpec

	gcs    *prowv1.GCSConfiguration
	bucket *blob.Bucket
}

// Open opens the bucket of o for the run spec. A local_output_dir writes files there instead, in
// the same layout (what a local run uses).
func Open(ctx context.Context, o *options.GCSUpload, spec downwardapi.JobSpec) (*Target, error) {
	if o == nil || o.GCSConfiguration == nil {
		return nil, fmt.Errorf("no gcs_options: nowhere to upload")
	}
	name := o.Bucket
	if o.LocalOutputDir != "" {
		name = "file://" + o.LocalOutputDir
	}
	parsed, err := storage.ParseBucket(name)
	if err != nil {
		return nil, err
	}
	dir, err := storage.JobDir(spec, o.GCSConfiguration)
	if err != nil {
		return nil, err
	}
	b, err := storage.Open(ctx, name, storage.Options{GCSCredentialsFile: o.GCSCredentialsFile, S3CredentialsFile: o.S3CredentialsFile})
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", name, err)
	}
	return &Target{
		Writer: storage.Retrying{Writer: storage.BucketWriter{Bucket: b}, Attempts: 4, Backoff: 500 * time.Millisecond},
		Bucket: parsed, JobDir: dir, SubDir: o.SubDir, MediaTypes: o.MediaTypes, Spec: spec, bucket: b, gcs: o.GCSConfiguration,
	}, nil
}

// JobGCS is the run's gcs_configuration, which the layout's other paths depend on.
func (t *Target) JobGCS() *prowv1.GCSConfiguration { return t.gcs }

// Close closes the bucket.
func (t *Target) Close() error {
	if t.bucket == nil {
		return nil
	}
	return t.bucket.Close()
}

// Key is where a file of the run goes.
func (t *Target) Key(name string) string { return path.Join(t.JobDir, t.SubDir, name) }

// Upload is one file of the run, its key taken from name.
func (t *Target) Upload(name string, src storage.Source) storage.Upload {
	return storage.Upload{Key: t.Key(name), Source: src, ContentType: storage.ContentType(name, t.MediaTypes)}
}

// JSON is an upload of v, encoded.
func (t *Target) JSON(name string, v any) (storage.Upload, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return storage.Upload{}, err
	}
	return t.Upload(name, storage.DataSource(b)), nil
}

// JobSpecFromEnv reads the run from $JOB_SPEC.
func JobSpecFromEnv() (downwardapi.JobSpec, error) {
	raw, ok := os.LookupEnv(downwardapi.JobSpecEnv)
	if !ok {
		return downwardapi.JobSpec{}, fmt.Errorf("$%s is not set; it carries the job run as JSON", downwardapi.JobSpecEnv)
	}
	var spec downwardapi.JobSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		return spec, fmt.Errorf("$%s: %w", downwardapi.JobSpecEnv, err)
	}
	return spec, nil
}
