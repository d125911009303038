package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gocloud.dev/blob"
)

// fileblobEscape marks a name that fileblob escaped when it wrote it ("__0x2f__"); such a
// directory is listed through fileblob, which knows how to read the names back.
const fileblobEscape = "__0x"

// fileblobAttrs is the suffix of fileblob's own attribute files, which are not objects.
const fileblobAttrs = ".attrs"

// ListFilePage is ListPage for a file bucket whose directory is root, reading dir with one
// directory read. fileblob walks a directory from its start for every page and reads each
// object's attributes on the way, so paging through a directory of n files costs n²/page
// reads; here a page costs one read of the directory's names and one lstat per entry shown.
// The order and the page token are the bucket's: keys in byte order, the token the last key.
func ListFilePage(ctx context.Context, b *blob.Bucket, root, dir string, token []byte, pageSize int) ([]Entry, []byte, error) {
	prefix := Dir(dir)
	full := filepath.Join(root, filepath.FromSlash(prefix))
	des, err := os.ReadDir(full)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	type named struct {
		key string
		de  fs.DirEntry
	}
	items := make([]named, 0, len(des))
	for _, de := range des {
		name := de.Name()
		if strings.Contains(name, fileblobEscape) {
			return ListPage(ctx, b, dir, token, pageSize)
		}
		if strings.HasSuffix(name, fileblobAttrs) {
			continue
		}
		key := prefix + name
		if de.IsDir() {
			key += "/"
		}
		if len(token) == 0 || key > string(token) {
			items = append(items, named{key, de})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
	var next []byte
	if len(items) > pageSize {
		items = items[:pageSize]
		next = []byte(items[pageSize-1].key)
	}
	entries := make([]Entry, 0, len(items))
	for _, it := range items {
		e := Entry{Key: it.key, Name: strings.TrimPrefix(it.key, prefix), Dir: it.de.IsDir()}
		if !e.Dir {
			info, err := it.de.Info()
			if err != nil {
				return nil, nil, fmt.Errorf("list %s: %w", prefix, err)
			}
			e.Size, e.Modified = info.Size(), info.ModTime()
		}
		entries = append(entries, e)
	}
	return entries, next, nil
}

// errWalkStop ends a file walk early.
var errWalkStop = errors.New("walk stopped")

// WalkFile is Walk for a file bucket whose directory is root: one pass over the directory tree
// instead of fileblob's walk from the start for every page of 1,000 objects. It visits objects
// in the tree's order (each directory's names sorted), and falls back to Walk where fileblob
// escaped a name.
func WalkFile(ctx context.Context, b *blob.Bucket, root, dir string, limit int, fn func(Entry) bool) (bool, error) {
	prefix := Dir(dir)
	top := filepath.Join(root, filepath.FromSlash(prefix))
	n, escaped := 0, false
	err := filepath.WalkDir(top, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == top {
				return nil
			}
			return err
		}
		if strings.Contains(de.Name(), fileblobEscape) {
			escaped = true
			return errWalkStop
		}
		if de.IsDir() || strings.HasSuffix(p, fileblobAttrs) {
			return nil
		}
		if n >= limit {
			return errWalkStop
		}
		n++
		info, err := de.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(top, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if !fn(Entry{Key: prefix + name, Name: name, Size: info.Size(), Modified: info.ModTime()}) {
			return errWalkStop
		}
		return ctx.Err()
	})
	if escaped {
		return Walk(ctx, b, dir, limit, fn)
	}
	if errors.Is(err, errWalkStop) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("list %s: %w", prefix, err)
	}
	return true, nil
}
