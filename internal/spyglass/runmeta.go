package spyglass

import (
	"context"
	"sync"

	"gocloud.dev/blob"

	"github.com/prowl-ci/prowl/internal/podutils/metadata"
	"github.com/prowl-ci/prowl/internal/storage"
)

// The history pages read two small files per run, and a page shows 20 runs (a pull request's
// history up to 500): on a remote bucket that is most of a page's time. A finished run's
// started.json and finished.json never change once finished.json is written (the sidecar writes
// it last), so they are kept in a bounded LRU keyed by the run's bucket URL; a running run is
// read every time.

const (
	// historyReaders bounds how many runs a history page reads at once: a job history page's
	// 20 at once; a pull request's history (up to 500 runs) 20 at a time.
	historyReaders = historyPage
	// finishedRunsCached bounds the cache: a run's two files are a few hundred bytes.
	finishedRunsCached = 20000
)

// runMetadata is what a history row shows of a run, and why a file could not be read.
type runMetadata struct {
	started               *metadata.Started
	finished              *metadata.Finished
	startedErr, finishErr error
}

// runMeta reads a run's started.json and finished.json, from the cache when it is finished.
func (h *Handler) runMeta(ctx context.Context, b *blob.Bucket, loc location) runMetadata {
	key := loc.URL()
	if v, ok := h.finishedRuns.Get(key); ok {
		return v.(runMetadata)
	}
	var m runMetadata
	var wg sync.WaitGroup
	wg.Go(func() { m.started, m.startedErr = storage.ReadStarted(ctx, b, loc.Key) })
	wg.Go(func() { m.finished, m.finishErr = storage.ReadFinished(ctx, b, loc.Key) })
	wg.Wait()
	if m.startedErr == nil && m.finishErr == nil && m.started != nil && m.finished != nil {
		h.finishedRuns.Add(key, m)
	}
	return m
}
