package storage

import (
	"context"
	"fmt"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// CreateIfAbsent writes data to key only if no object is there: the bucket itself checks (GCS's
// ifGenerationMatch=0, S3's If-None-Match, an exclusive create for files), so two writers racing
// cannot both write, and what another wrote is never overwritten. It reports whether it wrote.
func CreateIfAbsent(ctx context.Context, b *blob.Bucket, key string, data []byte, contentType string) (bool, error) {
	err := b.WriteAll(ctx, key, data, &blob.WriterOptions{ContentType: contentType, IfNotExist: true})
	switch gcerrors.Code(err) {
	case gcerrors.OK:
		return true, nil
	case gcerrors.FailedPrecondition:
		return false, nil
	}
	return false, fmt.Errorf("create %s: %w", key, err)
}
