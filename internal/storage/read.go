package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/prowl-ci/prowl/internal/podutils/metadata"
)

// The read side of a bucket: what Spyglass and the job history need to show runs without reading
// more than they show. Listings go one directory level at a time (a delimiter listing), in pages,
// so that a directory of 45,000 artifacts answers as fast as one page of it; logs are read by range.

// Entry is one item of a directory listing: a file, or a subdirectory (a common prefix).
type Entry struct {
	// Key is the object's full key; for a directory it ends in "/".
	Key string
	// Name is the key relative to the listed directory (a directory's name ends in "/").
	Name     string
	Dir      bool
	Size     int64
	Modified time.Time
}

// ErrNotFound is returned for a missing object, whatever the bucket's kind.
var ErrNotFound = errors.New("not found")

// IsNotFound says whether err means the object or bucket does not exist.
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || gcerrors.Code(err) == gcerrors.NotFound || errors.Is(err, os.ErrNotExist)
}

// Dir is dir as a listing prefix: "" stays "", anything else ends in one "/".
func Dir(dir string) string {
	if dir == "" {
		return ""
	}
	return strings.TrimSuffix(dir, "/") + "/"
}

// ListPage lists one page of dir's direct children (files and subdirectories) in key order,
// starting at token (nil for the first page); the next token is nil after the last page.
func ListPage(ctx context.Context, b *blob.Bucket, dir string, token []byte, pageSize int) ([]Entry, []byte, error) {
	prefix := Dir(dir)
	objs, next, err := b.ListPage(ctx, tokenOrFirst(token), pageSize, &blob.ListOptions{Prefix: prefix, Delimiter: "/"})
	if err != nil {
		return nil, nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	entries := make([]Entry, 0, len(objs))
	for _, o := range objs {
		entries = append(entries, Entry{Key: o.Key, Name: strings.TrimPrefix(o.Key, prefix), Dir: o.IsDir, Size: o.Size, Modified: o.ModTime})
	}
	return entries, next, nil
}

func tokenOrFirst(token []byte) []byte {
	if len(token) == 0 {
		return blob.FirstPageToken
	}
	return token
}

// Walk calls fn for every object under dir, at any depth, in key order, until fn returns false
// or limit objects were seen; it reports whether the walk reached the end.
func Walk(ctx context.Context, b *blob.Bucket, dir string, limit int, fn func(Entry) bool) (bool, error) {
	prefix := Dir(dir)
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for n := 0; ; n++ {
		o, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("list %s: %w", prefix, err)
		}
		if n >= limit {
			return false, nil
		}
		if !fn(Entry{Key: o.Key, Name: strings.TrimPrefix(o.Key, prefix), Size: o.Size, Modified: o.ModTime}) {
			return false, nil
		}
	}
}

// ReadSmall reads a whole object that must be at most limit bytes (metadata files, JUnit
// results, pointers); a bigger one is an error rather than a large allocation.
func ReadSmall(ctx context.Context, b *blob.Bucket, key string, limit int64) ([]byte, error) {
	r, err := b.NewReader(ctx, key, nil)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("read %s: larger than %d bytes", key, limit)
	}
	return data, nil
}

// ReadRange opens length bytes of key from offset (length < 0: to the end).
func ReadRange(ctx context.Context, b *blob.Bucket, key string, offset, length int64) (io.ReadCloser, error) {
	r, err := b.NewRangeReader(ctx, key, offset, length, nil)
	if err != nil {
		return nil, fmt.Errorf("read %s at %d: %w", key, offset, err)
	}
	return r, nil
}

// metadataLimit bounds started.json, finished.json and other run metadata.
const metadataLimit = 1 << 20

// ReadJSON decodes the small JSON object at key into v.
func ReadJSON(ctx context.Context, b *blob.Bucket, key string, v any) error {
	data, err := ReadSmall(ctx, b, key, metadataLimit)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s is not valid JSON: %w", key, err)
	}
	return nil
}

// ReadStarted reads a run's started.json.
func ReadStarted(ctx context.Context, b *blob.Bucket, jobDir string) (*metadata.Started, error) {
	var s metadata.Started
	if err := ReadJSON(ctx, b, path.Join(jobDir, "started.json"), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// ReadFinished reads a run's finished.json.
func ReadFinished(ctx context.Context, b *blob.Bucket, jobDir string) (*metadata.Finished, error) {
	var f metadata.Finished
	if err := ReadJSON(ctx, b, path.Join(jobDir, "finished.json"), &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// CheckKey refuses a key that could leave the directory it is read from: an empty segment,
// "." or "..", or a backslash. Keys come from URLs, so this is checked before any read.
func CheckKey(key string) error {
	if strings.Contains(key, "\\") || strings.ContainsRune(key, 0) {
		return fmt.Errorf("path %q: backslashes and NUL are not allowed", key)
	}
	for seg := range strings.SplitSeq(strings.TrimSuffix(key, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("path %q: segment %q is not allowed", key, seg)
		}
	}
	return nil
}

// CheckFileKey refuses, in a file bucket rooted at root, a key that is not a plain path below it:
// CheckKey's rules, and no symbolic link at any level (a link could point anywhere on the
// machine). A missing file is not an error here; reading it then says not found.
func CheckFileKey(root, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	p := filepath.Clean(root)
	for seg := range strings.SplitSeq(strings.TrimSuffix(key, "/"), "/") {
		p = filepath.Join(p, seg)
		fi, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("path %q: %w", key, err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("path %q: %s is a symbolic link, which a file bucket does not follow", key, seg)
		}
	}
	return nil
}
