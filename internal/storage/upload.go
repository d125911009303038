package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path"
	"strings"
	"time"

	"gocloud.dev/blob"
	"golang.org/x/sync/errgroup"
	"k8s.io/utils/clock"
)

// Source opens the content of one object; it is called again for each retry.
type Source func() (io.ReadCloser, error)

// FileSource reads a file.
func FileSource(p string) Source {
	return func() (io.ReadCloser, error) { return os.Open(p) }
}

// DataSource is bytes in memory.
func DataSource(b []byte) Source {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// Writer writes objects into a bucket. Interfaces of the utilities take it, so tests can put a
// faulty one in front of a real bucket.
type Writer interface {
	Write(ctx context.Context, key string, src Source, contentType string) error
}

// BucketWriter writes to a gocloud bucket.
type BucketWriter struct{ Bucket *blob.Bucket }

// Write copies src into key with the content type.
func (w BucketWriter) Write(ctx context.Context, key string, src Source, contentType string) error {
	r, err := src()
	if err != nil {
		return err
	}
	defer r.Close()
	wr, err := w.Bucket.NewWriter(ctx, key, &blob.WriterOptions{ContentType: contentType})
	if err != nil {
		return err
	}
	if _, err := io.Copy(wr, r); err != nil {
		_ = wr.Close()
		return err
	}
	return wr.Close()
}

// Retrying retries each write that fails, with backoff, up to Attempts times.
type Retrying struct {
	Writer   Writer
	Attempts int
	Backoff  time.Duration
	// Clock times the backoff; the real clock when nil.
	Clock clock.Clock
}

// Write writes, retrying; the error names the key and every attempt's failure.
func (r Retrying) Write(ctx context.Context, key string, src Source, contentType string) error {
	clk := r.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	var errs []error
	wait := r.Backoff
	for attempt := 1; attempt <= max(r.Attempts, 1); attempt++ {
		err := r.Writer.Write(ctx, key, src, contentType)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("attempt %d: %w", attempt, err))
		if attempt == r.Attempts {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("upload %s: %w", key, errors.Join(append(errs, ctx.Err())...))
		case <-clk.After(wait):
		}
		wait *= 2
	}
	return fmt.Errorf("upload %s: %w", key, errors.Join(errs...))
}

// Upload is one object to write.
type Upload struct {
	Key         string
	Source      Source
	ContentType string
}

// WriteAll writes the uploads in parallel and returns every failure, not only the first.
func WriteAll(ctx context.Context, w Writer, uploads []Upload, parallel int) error {
	var g errgroup.Group
	g.SetLimit(max(parallel, 1))
	errs := make([]error, len(uploads))
	for i, u := range uploads {
		g.Go(func() error {
			errs[i] = w.Write(ctx, u.Key, u.Source, u.ContentType)
			return nil
		})
	}
	_ = g.Wait()
	return errors.Join(errs...)
}

// ContentType is the content type an object gets: the configured media type for its extension
// (gcs_configuration.mediaTypes), text/plain for logs and text, application/json for JSON, else
// what the system's MIME table says, else none.
func ContentType(name string, mediaTypes map[string]string) string {
	ext := strings.TrimPrefix(path.Ext(name), ".")
	if t, ok := mediaTypes[ext]; ok {
		return t
	}
	switch ext {
	case "log", "txt":
		return "text/plain; charset=utf-8"
	case "json":
		return "application/json"
	}
	if ext == "" {
		return ""
	}
	return mime.TypeByExtension("." + ext)
}
