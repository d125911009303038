// Package reloadfile keeps a small file's parsed content current without a watcher: each Get
// stats the file and parses it again when its modification time or size changed. Hook's secrets
// and plugins.yaml use it; they are read per event, and a stat is cheaper than a watch to keep.
package reloadfile

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// File is a file's parsed content.
type File[T any] struct {
	path  string
	parse func([]byte) (T, error)
	// OnError hears why a changed file did not parse; the last good content stays.
	OnError func(error)

	mu      sync.Mutex
	modTime time.Time
	size    int64
	value   T
}

// Load parses path; this first load must succeed. Errors name flag, the option that gave path.
func Load[T any](flag, path string, parse func([]byte) (T, error)) (*File[T], error) {
	f := &File[T]{path: path, parse: func(b []byte) (T, error) {
		v, err := parse(b)
		if err != nil {
			return v, fmt.Errorf("%s %s: %w", flag, path, err)
		}
		return v, nil
	}}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	if f.value, err = f.parse(raw); err != nil {
		return nil, err
	}
	f.modTime, f.size = info.ModTime(), info.Size()
	return f, nil
}

// Get returns the current content. When the file cannot be read (it was removed) it returns
// the last good content and the error, so that each user decides what that means.
func (f *File[T]) Get() (T, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	info, err := os.Stat(f.path)
	if err != nil {
		return f.value, err
	}
	if info.ModTime().Equal(f.modTime) && info.Size() == f.size {
		return f.value, nil
	}
	raw, err := os.ReadFile(f.path)
	if err != nil {
		return f.value, err
	}
	v, err := f.parse(raw)
	if err != nil {
		if f.OnError != nil {
			f.OnError(err)
		}
		return f.value, nil // the file may be mid-rewrite: keep the last good content
	}
	f.value, f.modTime, f.size = v, info.ModTime(), info.Size()
	return v, nil
}
