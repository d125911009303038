// Package initupload is the code behind the initupload pod utility: before the test runs, it
// uploads started.json, the job's latest-build pointers and the clone's log and records, and if
// cloning failed it ends the run there with a FAILURE finished.json.
package initupload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"k8s.io/utils/clock"

	"github.com/prowl-ci/prowl/internal/podutils/gcsupload"
	"github.com/prowl-ci/prowl/internal/podutils/metadata"
	"github.com/prowl-ci/prowl/internal/podutils/options"
	"github.com/prowl-ci/prowl/internal/storage"
)

// ErrCloneFailed means clonerefs recorded a failure: the run ends in initupload.
var ErrCloneFailed = errors.New("cloning failed")

// Run uploads what a run has when it starts. clk gives the timestamps.
func Run(ctx context.Context, o *options.InitUpload, t *gcsupload.Target, clk clock.PassiveClock) error {
	var records []metadata.CloneRecord
	if o.Log != "" {
		raw, err := os.ReadFile(o.Log)
		if err != nil {
			return fmt.Errorf("read clone records %s: %w", o.Log, err)
		}
		if err := json.Unmarshal(raw, &records); err != nil {
			return fmt.Errorf("clone records %s: %w", o.Log, err)
		}
	}
	started, err := t.JSON("started.json", metadata.NewStarted(t.Spec, records, clk.Now().Unix()))
	if err != nil {
		return err
	}
	uploads := []storage.Upload{started}
	for _, p := range storage.LatestBuildPaths(t.Spec, t.JobGCS()) {
		uploads = append(uploads, storage.Upload{Key: p, Source: storage.DataSource([]byte(t.Spec.BuildID)), ContentType: "text/plain; charset=utf-8"})
	}
	if alias := storage.AliasPath(t.Spec, t.JobGCS()); alias != "" {
		uploads = append(uploads, storage.Upload{Key: alias, Source: storage.DataSource([]byte(t.Bucket.URL() + "/" + t.JobDir)), ContentType: "text/plain; charset=utf-8"})
	}
	failed := false
	for _, r := range records {
		failed = failed || r.Failed
	}
	if o.Log != "" {
		// The clone's record goes with every run that cloned; a failed clone ends the run here.
		log := []byte(FormatRecords(records))
		recordsUpload, err := t.JSON("clone-records.json", records)
		if err != nil {
			return err
		}
		uploads = append(uploads, t.Upload("clone-log.txt", storage.DataSource(log)), recordsUpload)
		if failed {
			ts, no := clk.Now().Unix(), false
			finished, err := t.JSON("finished.json", metadata.Finished{Timestamp: &ts, Passed: &no, Result: metadata.ResultFailure, Revision: metadata.Revision(t.Spec, records)})
			if err != nil {
				return err
			}
			uploads = append(uploads, t.Upload("build-log.txt", storage.DataSource(log)), finished)
		}
	}
	if err := storage.WriteAll(ctx, t.Writer, uploads, 8); err != nil {
		return err
	}
	if failed {
		return ErrCloneFailed
	}
	return nil
}

// FormatRecords renders clone records as the log a person reads.
func FormatRecords(records []metadata.CloneRecord) string {
	var b strings.Builder
	for _, r := range records {
		fmt.Fprintf(&b, "Cloning %s/%s at %s", r.Refs.Org, r.Refs.Repo, r.Refs.BaseRef)
		if r.Refs.BaseSHA != "" {
			fmt.Fprintf(&b, "(%s)", r.Refs.BaseSHA)
		}
		b.WriteString("\n")
		for _, p := range r.Refs.Pulls {
			fmt.Fprintf(&b, "Checking out pull request %d", p.Number)
			if p.SHA != "" {
				fmt.Fprintf(&b, "(%s)", p.SHA)
			}
			b.WriteString("\n")
		}
		for _, c := range r.Commands {
			fmt.Fprintf(&b, "$ %s\n%s", c.Command, c.Output)
			if c.Error != "" {
				fmt.Fprintf(&b, "# Error: %s\n", c.Error)
			}
		}
		if r.Failed {
			b.WriteString("# FAILED!\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}
