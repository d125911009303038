// Package sidecar is the code behind the sidecar pod utility: it waits for the test containers'
// exit-code markers, then uploads the build log, finished.json and the artifacts.
package sidecar

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"k8s.io/utils/clock"

	"github.com/prowl-ci/prowl/internal/podutils/gcsupload"
	"github.com/prowl-ci/prowl/internal/podutils/metadata"
	"github.com/prowl-ci/prowl/internal/podutils/options"
	"github.com/prowl-ci/prowl/internal/podutils/wrapper"
	"github.com/prowl-ci/prowl/internal/storage"
)

// pollInterval is how often waiting checks the markers when file events do not come (a volume
// whose changes inotify cannot see).
const pollInterval = time.Second

// Run waits for every entry to finish, or for ctx to end (the sidecar's SIGTERM), then uploads the
// run's results. It returns the process's exit code: 0 when everything was uploaded (and, with
// entry_error, every entry passed). clk stamps finished.json and paces the marker polling.
func Run(ctx context.Context, o *options.Sidecar, t *gcsupload.Target, clk clock.WithTicker, log io.Writer) int {
	waitCtx := ctx
	if o.IgnoreInterrupts {
		waitCtx = context.WithoutCancel(ctx)
	}
	aborted := waitForMarkers(waitCtx, clk, o.Entries, log) != nil

	passed, result := true, metadata.ResultSuccess
	for _, e := range o.Entries {
		code, err := wrapper.ReadMarker(e.MarkerFile)
		switch {
		case err != nil:
			fmt.Fprintf(log, "sidecar: no exit code for %s: %v\n", name(e), err)
			passed = false
		case code == wrapper.AbortedErrorCode:
			aborted, passed = true, false
		case code != 0:
			passed = false
		}
	}
	if !passed {
		result = metadata.ResultFailure
	}
	if aborted {
		passed, result = false, metadata.ResultAborted
	}

	if co := o.CensoringOptions; co != nil && len(co.SecretDirectories) > 0 {
		if err := censor(o, co); err != nil {
			// Uploading uncensored output could leak a secret: upload nothing.
			fmt.Fprintf(log, "sidecar: censoring failed, uploading nothing: %v\n", err)
			return 1
		}
	}
	uploads, err := uploadsFor(o, t, passed, result, clk.Now())
	if err != nil {
		fmt.Fprintf(log, "sidecar: %v\n", err)
		return 1
	}
	// Uploading must finish even though the Pod is being stopped: its grace period covers it.
	if err := storage.WriteAll(context.WithoutCancel(ctx), t.Writer, uploads, 16); err != nil {
		fmt.Fprintf(log, "sidecar: upload failed: %v\n", err)
		return 1
	}
	fmt.Fprintf(log, "sidecar: uploaded %d files to %s/%s: %s\n", len(uploads), t.Bucket.URL(), t.JobDir, result)
	if o.EntryError && !passed {
		return 1
	}
	return 0
}

func censor(o *options.Sidecar, co *options.CensoringOptions) error {
	minLength, bufferSize := 0, 0
	if co.MinimumSecretLength != nil {
		minLength = *co.MinimumSecretLength
	}
	if co.CensoringBufferSize != nil {
		bufferSize = *co.CensoringBufferSize
	}
	c, err := LoadSecrets(co.SecretDirectories, minLength, bufferSize)
	if err != nil || c.Empty() {
		return err
	}
	var logs []string
	for _, e := range o.Entries {
		logs = append(logs, e.ProcessLog)
	}
	return censorAll(c, co, logs, o.GCSOptions.Items)
}

func name(e wrapper.Options) string {
	if e.ContainerName != "" {
		return e.ContainerName
	}
	return e.MarkerFile
}

// uploadsFor lists the run's files: each entry's log, the artifacts, and finished.json.
func uploadsFor(o *options.Sidecar, t *gcsupload.Target, passed bool, result string, now time.Time) ([]storage.Upload, error) {
	var uploads []storage.Upload
	meta := map[string]any{}
	for _, e := range o.Entries {
		logName := "build-log.txt"
		if len(o.Entries) > 1 {
			logName = e.ContainerName + "-build-log.txt"
		}
		if _, err := os.Stat(e.ProcessLog); err == nil {
			uploads = append(uploads, t.Upload(logName, storage.FileSource(e.ProcessLog)))
		}
		if raw, err := os.ReadFile(e.MetadataFile); err == nil {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err == nil {
				for k, v := range m {
					meta[k] = v
				}
			}
		}
	}
	for _, item := range o.GCSOptions.Items {
		files, err := gather(item, t)
		if err != nil {
			return nil, err
		}
		uploads = append(uploads, files...)
	}
	ts := now.Unix()
	finished := metadata.Finished{Timestamp: &ts, Passed: &passed, Result: result, Revision: metadata.Revision(t.Spec, nil)}
	if len(meta) > 0 {
		finished.Metadata = meta
	}
	f, err := t.JSON("finished.json", finished)
	if err != nil {
		return nil, err
	}
	return append(uploads, f), nil
}

// gather lists the files under an item, keyed by their path below the item's parent: everything
// in /logs/artifacts goes to artifacts/... . Symbolic links to files are followed; links to
// directories are not, so a link cannot make the walk loop.
func gather(item string, t *gcsupload.Target) ([]storage.Upload, error) {
	info, err := os.Stat(item)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []storage.Upload{t.Upload(filepath.Base(item), storage.FileSource(item))}, nil
	}
	parent := filepath.Dir(item)
	var uploads []storage.Upload
	err = filepath.WalkDir(item, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Stat(p)
			if err != nil || target.IsDir() {
				return nil //nolint:nilerr // a dangling link or a link to a directory is skipped
			}
		}
		rel, err := filepath.Rel(parent, p)
		if err != nil {
			return err
		}
		uploads = append(uploads, t.Upload(filepath.ToSlash(rel), storage.FileSource(p)))
		return nil
	})
	return uploads, err
}

// waitForMarkers returns when every entry's marker exists, or with ctx's error. It watches the
// markers' directories and polls as well.
func waitForMarkers(ctx context.Context, clk clock.WithTicker, entries []wrapper.Options, log io.Writer) error {
	all := func() bool {
		for _, e := range entries {
			if _, err := os.Stat(e.MarkerFile); err != nil {
				return false
			}
		}
		return true
	}
	var events <-chan fsnotify.Event
	if w, err := fsnotify.NewWatcher(); err == nil {
		defer w.Close()
		for _, e := range entries {
			_ = w.Add(filepath.Dir(e.MarkerFile))
		}
		events = w.Events
	} else {
		fmt.Fprintf(log, "sidecar: cannot watch for markers (%v); polling\n", err)
	}
	tick := clk.NewTicker(pollInterval)
	defer tick.Stop()
	for !all() {
		select {
		case <-ctx.Done():
			fmt.Fprintln(log, "sidecar: interrupted before the test finished; uploading what there is as ABORTED")
			return ctx.Err()
		case <-events:
		case <-tick.C():
		}
	}
	return nil
}
