package gcsupload

import (
	"gocloud.dev/blob"

	"github.com/prowl-ci/prowl/internal/downwardapi"
	"github.com/prowl-ci/prowl/internal/podutils/options"
	"github.com/prowl-ci/prowl/internal/storage"
)

// ForBucket is the Target of the run spec in b, a bucket its caller keeps open across runs (a
// controller that writes for many jobs): the same layout as Open, and Close leaves b open.
func ForBucket(b *blob.Bucket, o *options.GCSUpload, spec downwardapi.JobSpec) (*Target, error) {
	parsed, err := storage.ParseBucket(o.Bucket)
	if err != nil {
		return nil, err
	}
	dir, err := storage.JobDir(spec, o.GCSConfiguration)
	if err != nil {
		return nil, err
	}
	return &Target{
		Writer: storage.BucketWriter{Bucket: b}, Bucket: parsed, JobDir: dir, SubDir: o.SubDir,
		MediaTypes: o.MediaTypes, Spec: spec, gcs: o.GCSConfiguration,
	}, nil
}
