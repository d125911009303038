package spyglass

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"
	"golang.org/x/sync/errgroup"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/downwardapi"
	"github.com/prowl-ci/prowl/internal/storage"
)

// Job history, as Prow's: /job-history/<provider>/<bucket>/logs/<job> (periodics, postsubmits)
// and .../pr-logs/directory/<job> (presubmits, through their <build>.txt pointers); 20 runs a
// page, newest first; ?buildId=N starts the page at the newest run not newer than N.

const historyPage = 20

// historyRow is one run in a history table.
type historyRow struct {
	Build, Link, Result, ResultClass string
	Started, StartedISO, Duration    string
	PR, PRLink, Commit               string
	Latest                           bool
	Err                              string
	started                          time.Time
	job                              string
	repos                            map[string]string
}

// buildIDLess orders build IDs as numbers (longer is larger), others as text.
func buildIDLess(a, b string) bool {
	if len(a) != len(b) && isDigits(a) && isDigits(b) {
		return len(a) < len(b)
	}
	return a < b
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// listAllPage is the page size of a whole listing: a job's 1,000 runs are one page.
const listAllPage = 5000

// listAll lists every direct child of dir in loc's bucket, page after page.
func listAll(ctx context.Context, b *blob.Bucket, loc location, dir string) ([]storage.Entry, error) {
	var all []storage.Entry
	var token []byte
	for {
		entries, next, err := listPage(ctx, b, loc, dir, token, listAllPage)
		if err != nil {
			return nil, err
		}
		all = append(all, entries...)
		if len(next) == 0 {
			return all, nil
		}
		token = next
	}
}

// listPage lists one page of dir's direct children; a file bucket is read directly
// (storage.ListFilePage), which pages without walking the directory again for every page.
func listPage(ctx context.Context, b *blob.Bucket, loc location, dir string, token []byte, n int) ([]storage.Entry, []byte, error) {
	if loc.Provider == "file" {
		return storage.ListFilePage(ctx, b, loc.Name, dir, token, n)
	}
	return storage.ListPage(ctx, b, dir, token, n)
}

// buildIDs are the runs in a job's directory: <id>/ under logs/<job>, <id>.txt under
// pr-logs/directory/<job>; newest first.
func buildIDs(entries []storage.Entry, pointers bool) []string {
	var ids []string
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name, "/")
		if pointers {
			id, ok := strings.CutSuffix(name, ".txt")
			if ok && !e.Dir && isDigits(id) {
				ids = append(ids, id)
			}
		} else if e.Dir && name != "" {
			ids = append(ids, name)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return buildIDLess(ids[j], ids[i]) })
	return ids
}

func (h *Handler) serveJobHistory(w http.ResponseWriter, r *http.Request, src string) {
	ctx := r.Context()
	loc, err := h.locate(src)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	job := path.Base(loc.Key)
	pointers := path.Base(path.Dir(loc.Key)) == "directory" && strings.Contains(loc.Key, "pr-logs/")
	if !pointers && path.Base(path.Dir(loc.Key)) != "logs" {
		h.fail(w, r, notFound("%s is not a job directory: a job's history is at <bucket>/logs/<job> or <bucket>/pr-logs/directory/<job>.", loc.URL()))
		return
	}
	b, err := h.bucket(ctx, loc)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var latest []byte
	var wg sync.WaitGroup
	wg.Go(func() { latest, _ = storage.ReadSmall(ctx, b, path.Join(loc.Key, "latest-build.txt"), 64) })
	entries, err := listAll(ctx, b, loc, loc.Key)
	wg.Wait()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ids := buildIDs(entries, pointers)
	if len(ids) == 0 {
		h.fail(w, r, notFound("Job %s has no runs in %s.", job, loc.URL()))
		return
	}
	top := 0
	if q := r.URL.Query().Get("buildId"); q != "" {
		top = sort.Search(len(ids), func(i int) bool { return !buildIDLess(q, ids[i]) })
	}
	end := min(len(ids), top+historyPage)
	rows := h.historyRows(ctx, loc, ids[top:end], pointers)
	for i := range rows {
		rows[i].Latest = rows[i].Build == strings.TrimSpace(string(latest))
	}
	v := map[string]any{"Job": job, "Location": loc.URL(), "Rows": rows, "Total": len(ids), "From": top + 1, "To": end}
	base := "/job-history/" + loc.Src()
	if end < len(ids) {
		v["Older"] = base + "?buildId=" + ids[end]
	}
	if top > 0 {
		v["Newer"] = base + "?buildId=" + ids[max(0, top-historyPage)]
		v["Newest"] = base
	}
	w.Header().Set("Cache-Control", "no-store")
	h.o.Chrome.Page(w, r, "History of "+job, h.render("history", v))
}

// historyRows reads the runs' started.json and finished.json, historyReaders runs at a time.
func (h *Handler) historyRows(ctx context.Context, jobLoc location, ids []string, pointers bool) []historyRow {
	rows := make([]historyRow, len(ids))
	var g errgroup.Group
	g.SetLimit(historyReaders)
	for i, id := range ids {
		g.Go(func() error {
			runLoc := jobLoc.join(id)
			if pointers {
				l, err := h.resolvePointer(ctx, runLoc)
				if err != nil {
					rows[i] = historyRow{Build: id, Err: err.Error()}
					return nil
				}
				runLoc = l
			}
			rows[i] = h.historyRow(ctx, runLoc, id)
			return nil
		})
	}
	_ = g.Wait()
	return rows
}

// historyRow is one run's row; a file that cannot be read is the row's error, not the page's.
func (h *Handler) historyRow(ctx context.Context, loc location, id string) historyRow {
	row := historyRow{Build: id, Link: "/view/" + loc.Src(), Result: "unknown", ResultClass: "unknown"}
	b, err := h.bucket(ctx, loc)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	m := h.runMeta(ctx, b, loc)
	started, finished, sErr, fErr := m.started, m.finished, m.startedErr, m.finishErr
	if sErr != nil && !storage.IsNotFound(sErr) {
		row.Err = sErr.Error()
	}
	if started != nil {
		row.started = time.Unix(started.Timestamp, 0)
		row.Started = row.started.UTC().Format("2006-01-02 15:04:05")
		row.StartedISO = row.started.UTC().Format(time.RFC3339)
		row.PR = started.Pull
		row.Commit = started.RepoCommit
		row.repos = started.Repos
	}
	switch {
	case fErr == nil && finished != nil:
		rn := run{finished: finished}
		row.Result = rn.state()
		if finished.Timestamp != nil && started != nil {
			row.Duration = time.Unix(*finished.Timestamp, 0).Sub(row.started).String()
		}
	case storage.IsNotFound(fErr) && started != nil:
		row.Result = "running or unfinished"
	case fErr != nil && !storage.IsNotFound(fErr):
		row.Err = fErr.Error()
	}
	row.ResultClass = stateClass(row.Result)
	return row
}

// prHistoryRun is a run of one pull request, in its commit's group.
type prCommit struct {
	SHA    string
	Runs   []historyRow
	newest time.Time
}

// servePRHistory is every run of a pull request, grouped by the commit tested, newest first:
// /pr-history?org=&repo=&pr=, from pr-logs/pull/<repo>/<pr>/ in the repository's bucket.
func (h *Handler) servePRHistory(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	org, repo := q.Get("org"), q.Get("repo")
	pr, err := strconv.Atoi(q.Get("pr"))
	if org == "" || repo == "" || err != nil || pr <= 0 {
		h.fail(w, r, badRequest("pr-history needs org, repo and a pull request number: /pr-history?org=<org>&repo=<repo>&pr=<number>"))
		return
	}
	loc, err := h.prLocation(org, repo, pr)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	commits, err := h.prCommits(ctx, loc, org+"/"+repo, pr)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(commits) == 0 {
		h.fail(w, r, notFound("No runs of %s/%s#%d in %s.", org, repo, pr, loc.URL()))
		return
	}
	title := fmt.Sprintf("%s/%s#%d", org, repo, pr)
	w.Header().Set("Cache-Control", "no-store")
	h.o.Chrome.Page(w, r, "History of "+title, h.render("prhistory", map[string]any{"Title": title, "Location": loc.URL(), "Commits": commits}))
}

// prLocation is pr-logs/pull/<repo segment>/<pr> in the bucket of the repository's default
// decoration config.
func (h *Handler) prLocation(org, repo string, pr int) (location, error) {
	cfg := h.o.Config()
	dc := cfg.Plank.DecorationDefaults(org+"/"+repo, "")
	for _, k := range []string{org + "/" + repo, org, "*"} {
		if dc == nil || dc.GCSConfiguration == nil {
			dc = cfg.Plank.DefaultDecorationConfigs[k]
		}
	}
	if dc == nil || dc.GCSConfiguration == nil || dc.GCSConfiguration.Bucket == "" {
		return location{}, notFound("No bucket for %s/%s: plank's default decoration config for it names none.", org, repo)
	}
	spec := prSpec(org, repo, pr)
	dir, err := storage.JobDir(spec, dc.GCSConfiguration)
	if err != nil {
		return location{}, err
	}
	b, err := storage.ParseBucket(dc.GCSConfiguration.Bucket)
	if err != nil {
		return location{}, err
	}
	return h.locate(path.Join(b.Provider, strings.TrimPrefix(b.Name, "/"), path.Dir(path.Dir(dir))))
}

// prRunLimit bounds how many runs a pull request's history reads.
const prRunLimit = 500

func (h *Handler) prCommits(ctx context.Context, loc location, orgRepo string, pr int) ([]prCommit, error) {
	b, err := h.bucket(ctx, loc)
	if err != nil {
		return nil, err
	}
	jobs, err := listAll(ctx, b, loc, loc.Key)
	if err != nil {
		return nil, err
	}
	var runs []location
	var runJobs []string
	for _, j := range jobs {
		if !j.Dir {
			continue
		}
		builds, err := listAll(ctx, b, loc, j.Key)
		if err != nil {
			return nil, err
		}
		for _, id := range buildIDs(builds, false) {
			if len(runs) < prRunLimit {
				runs = append(runs, loc.join(path.Join(strings.TrimSuffix(j.Name, "/"), id)))
				runJobs = append(runJobs, strings.TrimSuffix(j.Name, "/"))
			}
		}
	}
	rows := make([]historyRow, len(runs))
	var g errgroup.Group
	g.SetLimit(historyReaders)
	for i, l := range runs {
		g.Go(func() error {
			_, id := jobAndBuild(l.Key)
			rows[i] = h.historyRow(ctx, l, id)
			rows[i].job = runJobs[i]
			return nil
		})
	}
	_ = g.Wait()
	return groupByCommit(rows, orgRepo, pr), nil
}

// groupByCommit groups runs by the pull request's SHA each tested (from started.json's repos),
// newest commit first and newest run first within it.
func groupByCommit(rows []historyRow, orgRepo string, pr int) []prCommit {
	byCommit := map[string]*prCommit{}
	var order []string
	for _, row := range rows {
		sha := prSHA(row.repos, orgRepo, pr)
		if sha == "" {
			sha = row.Commit
		}
		c, ok := byCommit[sha]
		if !ok {
			c = &prCommit{SHA: sha}
			byCommit[sha] = c
			order = append(order, sha)
		}
		row.PR = row.job
		c.Runs = append(c.Runs, row)
		if row.started.After(c.newest) {
			c.newest = row.started
		}
	}
	out := make([]prCommit, 0, len(order))
	for _, sha := range order {
		c := byCommit[sha]
		sort.SliceStable(c.Runs, func(i, j int) bool { return c.Runs[i].started.After(c.Runs[j].started) })
		out = append(out, *c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].newest.After(out[j].newest) })
	return out
}

// prSHA reads the pull request's SHA from started.json's repos ("base:sha,<pr>:<sha>").
func prSHA(repos map[string]string, orgRepo string, pr int) string {
	refs := repos[orgRepo]
	for _, part := range strings.Split(refs, ",")[1:] {
		num, sha, _ := strings.Cut(part, ":")
		if num == strconv.Itoa(pr) {
			return sha
		}
	}
	return ""
}

func prSpec(org, repo string, pr int) downwardapi.JobSpec {
	return downwardapi.JobSpec{Type: prowv1.PresubmitJob, Job: "job", BuildID: "build", Refs: &prowv1.Refs{Org: org, Repo: repo, Pulls: []prowv1.Pull{{Number: pr}}}}
}
