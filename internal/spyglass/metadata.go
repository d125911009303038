package spyglass

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"path"
	"sort"
	"time"

	"github.com/prowl-ci/prowl/internal/podutils/metadata"
	"github.com/prowl-ci/prowl/internal/storage"
)

// The metadata lens: started.json, finished.json, prowjob.json and artifacts/metadata.json
// fields, and the clone records with a failed command (and its output) first.

// field is one row of the metadata table.
type field struct{ Name, Value string }

// cloneView is one repository's clone record.
type cloneView struct {
	Repo     string
	Failed   bool
	Duration string
	Commands []metadata.Command
	// FailedCommand is the command that failed, shown first.
	FailedCommand *metadata.Command
}

func (h *Handler) metadataLens(ctx context.Context, _ *http.Request, rn *run, _ lensFiles) (template.HTML, error) {
	var errs []string
	var fields []field
	if rn.startedErr != nil {
		errs = append(errs, rn.startedErr.Error())
	}
	if rn.finishedErr != nil {
		errs = append(errs, rn.finishedErr.Error())
	}
	if rn.prowjobErr != nil {
		errs = append(errs, rn.prowjobErr.Error())
	}
	if s := rn.started; s != nil {
		fields = append(fields, field{"Started", unix(s.Timestamp)})
		fields = appendIf(fields, "Node", s.Node)
		fields = appendIf(fields, "Pull", s.Pull)
		fields = appendIf(fields, "Repo commit", s.RepoCommit)
		for _, k := range sortedKeys(s.Repos) {
			fields = append(fields, field{"Repo " + k, s.Repos[k]})
		}
		fields = appendMeta(fields, s.Metadata)
	}
	if f := rn.finished; f != nil {
		if f.Timestamp != nil {
			fields = append(fields, field{"Finished", unix(*f.Timestamp)})
		}
		fields = appendIf(fields, "Result", f.Result)
		if f.Passed != nil {
			fields = append(fields, field{"Passed", fmt.Sprint(*f.Passed)})
		}
		fields = appendIf(fields, "Revision", f.Revision)
		fields = appendMeta(fields, f.Metadata)
	}
	if p := rn.prowjob; p != nil {
		fields = appendIf(fields, "ProwJob", p.Name)
		fields = appendIf(fields, "Cluster", p.Spec.Cluster)
		fields = appendIf(fields, "Pod", p.Status.PodName)
		fields = appendIf(fields, "Description", p.Status.Description)
	}
	if extra, err := readArtifactMetadata(ctx, rn); err != nil {
		errs = append(errs, err.Error())
	} else {
		fields = appendMeta(fields, extra)
	}
	clones, err := cloneViews(ctx, rn)
	if err != nil {
		errs = append(errs, err.Error())
	}
	if len(fields) == 0 && len(clones) == 0 && len(errs) == 0 {
		return "", errNothing
	}
	body := h.render("metadata", map[string]any{"Fields": fields, "Clones": clones, "Errors": errs})
	if len(errs) > 0 && len(fields) == 0 && len(clones) == 0 {
		return body, fmt.Errorf("%s", errs[0])
	}
	return body, nil
}

func readArtifactMetadata(ctx context.Context, rn *run) (map[string]any, error) {
	if !rn.has("artifacts/") {
		return nil, nil
	}
	var m map[string]any
	err := storage.ReadJSON(ctx, rn.bucket, path.Join(rn.loc.Key, "artifacts/metadata.json"), &m)
	if storage.IsNotFound(err) {
		return nil, nil
	}
	return m, err
}

func cloneViews(ctx context.Context, rn *run) ([]cloneView, error) {
	if !rn.has("clone-records.json") {
		return nil, nil
	}
	recs, err := rn.cloneRecords(ctx)
	if err != nil {
		return nil, err
	}
	var out []cloneView
	for _, r := range recs {
		v := cloneView{Repo: r.Refs.Org + "/" + r.Refs.Repo, Failed: r.Failed, Duration: time.Duration(r.Duration).Round(time.Millisecond).String(), Commands: r.Commands}
		for i := range r.Commands {
			if r.Commands[i].Error != "" {
				v.FailedCommand = &r.Commands[i]
				break
			}
		}
		out = append(out, v)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Failed && !out[j].Failed })
	return out, nil
}

func unix(ts int64) string {
	return time.Unix(ts, 0).UTC().Format("2006-01-02 15:04:05 MST")
}

func appendIf(fs []field, name, value string) []field {
	if value == "" {
		return fs
	}
	return append(fs, field{name, value})
}

func appendMeta(fs []field, m map[string]any) []field {
	for _, k := range sortedKeys(m) {
		v := m[k]
		s, ok := v.(string)
		if !ok {
			b, _ := json.Marshal(v)
			s = string(b)
		}
		fs = append(fs, field{k, s})
	}
	return fs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func htmlEscape(s string) string { return html.EscapeString(s) }
