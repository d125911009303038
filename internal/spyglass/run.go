package spyglass

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"

	"gocloud.dev/blob"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/decorate"
	"github.com/prowl-ci/prowl/internal/downwardapi"
	"github.com/prowl-ci/prowl/internal/podutils/metadata"
	"github.com/prowl-ci/prowl/internal/storage"
)

// run is one job run as the page shows it: its directory, what the first listing of it holds,
// its metadata files and its ProwJob when the cache still has it.
type run struct {
	loc    location
	bucket *blob.Bucket
	job    string
	build  string
	pj     *prowv1.ProwJob
	// top is the first page of the run directory's listing, by name.
	top map[string]storage.Entry

	started     *metadata.Started
	startedErr  error
	finished    *metadata.Finished
	finishedErr error
	prowjob     *prowv1.ProwJob
	prowjobErr  error

	// walked is every object under the run (up to runWalkLimit), read once for the lenses.
	walkOnce sync.Once
	walked   map[string]storage.Entry
	walkDone bool
	walkErr  error
}

// topListing bounds the first listing of a run directory: its own files are few; what is
// many lives under artifacts/.
const topListing = 1000

// has says whether the run directory holds name (a file, or a directory ending in "/").
func (rn *run) has(name string) bool {
	_, ok := rn.top[name]
	return ok
}

// jobAndBuild are the last two segments of a run directory: <job>/<build>.
func jobAndBuild(key string) (string, string) {
	segs := strings.Split(strings.Trim(key, "/"), "/")
	if len(segs) < 2 {
		return "", ""
	}
	return segs[len(segs)-2], segs[len(segs)-1]
}

// loadRun reads what every lens shares. A run exists when its directory holds anything or its
// ProwJob is known; otherwise it is a 404 that names what was looked for.
func (h *Handler) loadRun(ctx context.Context, loc location, pj *prowv1.ProwJob) (*run, error) {
	b, err := h.bucket(ctx, loc)
	if err != nil {
		return nil, err
	}
	rn := &run{loc: loc, bucket: b, pj: pj, top: map[string]storage.Entry{}}
	rn.job, rn.build = jobAndBuild(loc.Key)
	if pj != nil {
		rn.job, rn.build = pj.Spec.Job, pj.Status.BuildID
	}
	entries, _, err := listPage(ctx, b, loc, loc.Key, nil, topListing)
	if err != nil && !storage.IsNotFound(err) {
		return nil, fmt.Errorf("list run %s: %w", loc.URL(), err)
	}
	for _, e := range entries {
		rn.top[e.Name] = e
	}
	if rn.pj == nil && h.o.ProwJobs != nil && rn.job != "" {
		rn.pj, _ = h.findProwJob(ctx, rn.job, rn.build)
	}
	if len(rn.top) == 0 && rn.pj == nil {
		return nil, notFound("No run at %s: nothing is stored there, and no ProwJob has job %q and build ID %q.", loc.URL(), rn.job, rn.build)
	}
	if rn.has("started.json") {
		rn.started, rn.startedErr = storage.ReadStarted(ctx, b, loc.Key)
	}
	if rn.has("finished.json") {
		rn.finished, rn.finishedErr = storage.ReadFinished(ctx, b, loc.Key)
	}
	if rn.has("prowjob.json") {
		var p prowv1.ProwJob
		if rn.prowjobErr = storage.ReadJSON(ctx, b, path.Join(loc.Key, "prowjob.json"), &p); rn.prowjobErr == nil {
			rn.prowjob = &p
		}
	}
	return rn, nil
}

// findProwJob finds the ProwJob of a job's run, matching its spec.job and status.buildID as
// Prow's JobAgent does. The build ID label is the Pod's (Plank never puts it on the ProwJob), so
// the cache is narrowed by the job label that every ProwJob Prowl makes carries, and searched
// whole only when that finds nothing (a ProwJob created without labels, or a run whose ProwJob
// Sinker collected: every old run's page). The lists read the cache's objects without copying
// them (50,000 deep copies per page otherwise); only the match is copied.
func (h *Handler) findProwJob(ctx context.Context, job, build string) (*prowv1.ProwJob, error) {
	if h.o.ProwJobs == nil {
		return nil, errors.New("no ProwJob cache")
	}
	ns := client.InNamespace(h.o.Config().ProwJobNamespace)
	for _, opts := range [][]client.ListOption{{ns, client.MatchingLabels{prowv1.JobLabel: decorate.JobLabelValue(job)}}, {ns}} {
		var list prowv1.ProwJobList
		if err := h.o.ProwJobs.List(ctx, &list, append(opts, client.UnsafeDisableDeepCopy)...); err != nil {
			return nil, fmt.Errorf("list ProwJobs of job %s: %w", job, err)
		}
		for i := range list.Items {
			if list.Items[i].Spec.Job == job && list.Items[i].Status.BuildID == build {
				return list.Items[i].DeepCopy(), nil
			}
		}
	}
	return nil, notFound("No ProwJob has job %q and build ID %q.", job, build)
}

// prowJobByName gets a ProwJob from the cache.
func (h *Handler) prowJobByName(ctx context.Context, name string) (*prowv1.ProwJob, error) {
	if h.o.ProwJobs == nil {
		return nil, notFound("No ProwJob %q: this server has no ProwJob cache.", name)
	}
	var pj prowv1.ProwJob
	if err := h.o.ProwJobs.Get(ctx, client.ObjectKey{Namespace: h.o.Config().ProwJobNamespace, Name: name}, &pj); err != nil {
		return nil, notFound("No ProwJob named %q in namespace %q (%v).", name, h.o.Config().ProwJobNamespace, err)
	}
	return &pj, nil
}

// prowJobLocation is where a ProwJob's run directory is: its decoration config's bucket and
// Prow's layout.
func (h *Handler) prowJobLocation(pj *prowv1.ProwJob) (location, error) {
	dc := pj.Spec.DecorationConfig
	if dc == nil || dc.GCSConfiguration == nil || dc.GCSConfiguration.Bucket == "" {
		return location{}, notFound("ProwJob %s (job %s) is not decorated with a bucket, so it has no artifacts to show.", pj.Name, pj.Spec.Job)
	}
	dir, err := storage.JobDir(downwardapi.NewJobSpec(pj.Spec, pj.Status.BuildID, pj.Name), dc.GCSConfiguration)
	if err != nil {
		return location{}, fmt.Errorf("ProwJob %s: %w", pj.Name, err)
	}
	b, err := storage.ParseBucket(dc.GCSConfiguration.Bucket)
	if err != nil {
		return location{}, err
	}
	return h.locate(path.Join(b.Provider, strings.TrimPrefix(b.Name, "/"), dir))
}

// refs is the run's main repository: the ProwJob's, else prowjob.json's.
func (rn *run) refs() *prowv1.Refs {
	for _, p := range []*prowv1.ProwJob{rn.pj, rn.prowjob} {
		if p == nil {
			continue
		}
		if p.Spec.Refs != nil {
			return p.Spec.Refs
		}
		if len(p.Spec.ExtraRefs) > 0 {
			return &p.Spec.ExtraRefs[0]
		}
	}
	return refsFromPath(rn.loc.Key, rn.started)
}

// refsFromPath reads a presubmit's repository and pull request from its run directory,
// pr-logs/pull/<org>_<repo>/<pr>/<job>/<build>, as Prow's RunToPR does, with the pull's SHA
// from started.json; nil for other runs.
func refsFromPath(key string, started *metadata.Started) *prowv1.Refs {
	segs := strings.Split(key, "/")
	for i := 0; i+6 <= len(segs); i++ {
		if segs[i] != "pr-logs" || segs[i+1] != "pull" || i+6 != len(segs) {
			continue
		}
		org, repo, ok := strings.Cut(segs[i+2], "_")
		pr, err := strconv.Atoi(segs[i+3])
		if !ok || err != nil {
			return nil
		}
		refs := &prowv1.Refs{Org: org, Repo: repo, Pulls: []prowv1.Pull{{Number: pr}}}
		if started != nil {
			parts := strings.Split(started.Repos[org+"/"+repo], ",")
			refs.BaseRef, refs.BaseSHA, _ = strings.Cut(parts[0], ":")
			for _, p := range parts[1:] {
				if num, sha, _ := strings.Cut(p, ":"); num == segs[i+3] {
					refs.Pulls[0].SHA = sha
				}
			}
		}
		return refs
	}
	return nil
}

// cloneRecords reads clone-records.json.
func (rn *run) cloneRecords(ctx context.Context) ([]metadata.CloneRecord, error) {
	data, err := storage.ReadSmall(ctx, rn.bucket, path.Join(rn.loc.Key, "clone-records.json"), 16<<20)
	if err != nil {
		return nil, err
	}
	var recs []metadata.CloneRecord
	if err := json.Unmarshal(data, &recs); err != nil {
		return nil, fmt.Errorf("clone-records.json is not valid JSON: %w", err)
	}
	return recs, nil
}

// readRunFile reads a small file of the run that a lens was given, checked first like any key
// from a URL (in a file bucket, no component may be a symbolic link).
func readRunFile(ctx context.Context, rn *run, name string, limit int64) ([]byte, error) {
	if err := checkChild(rn.loc.join(name)); err != nil {
		return nil, err
	}
	return storage.ReadSmall(ctx, rn.bucket, path.Join(rn.loc.Key, name), limit)
}

// size is a file's size from the run directory's listing, or from the walk of the run.
func (rn *run) size(name string) int64 {
	if e, ok := rn.top[name]; ok {
		return e.Size
	}
	return rn.walked[name].Size
}
