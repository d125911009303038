package spyglass

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// serveView is the run page, /view/<gs|s3|file>/<bucket>/<run dir> or /view/prowjob/<job>/<build>
// (Prow's form) or /view/prowjob/<ProwJob name>.
func (h *Handler) serveView(w http.ResponseWriter, r *http.Request, src string) {
	ctx := r.Context()
	rn, err := h.loadView(ctx, src)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hd := h.header(r, rn)
	body := h.render("run", map[string]any{"Header": hd, "Sections": h.sections(ctx, r, rn), "Static": staticURLs()})
	w.Header().Set("Cache-Control", "no-store")
	h.o.Chrome.Page(w, r, hd.Job+" #"+hd.Build, body)
}

// loadView reads the run a /view/ path names (its ProwJob, if any, and its files' metadata).
func (h *Handler) loadView(ctx context.Context, src string) (*run, error) {
	loc, pj, err := h.viewTarget(ctx, src)
	if err != nil {
		return nil, err
	}
	return h.loadRun(ctx, loc, pj)
}

// viewTarget turns the part of the URL after /view/ into a run location.
func (h *Handler) viewTarget(ctx context.Context, src string) (location, *prowv1.ProwJob, error) {
	rest, isPJ := strings.CutPrefix(strings.Trim(src, "/"), "prowjob/")
	if !isPJ {
		loc, err := h.locate(src)
		if err != nil {
			return location{}, nil, err
		}
		loc, err = h.resolvePointer(ctx, loc)
		return loc, nil, err
	}
	var pj *prowv1.ProwJob
	var err error
	if job, build, ok := strings.Cut(rest, "/"); ok {
		pj, err = h.findProwJob(ctx, job, build)
	} else {
		pj, err = h.prowJobByName(ctx, rest)
	}
	if err != nil {
		return location{}, nil, err
	}
	loc, err := h.prowJobLocation(pj)
	return loc, pj, err
}

// header is the top of the run page.
type header struct {
	Job, Build, State, StateClass string
	Started, Duration             string
	StartedISO                    string
	Refs                          *prowv1.Refs
	Link                          string
	ProwJobName                   string
	ProwJobYAML                   string
	JobHistory                    string
	PRHistory                     string
	Actions                       template.HTML
	Description                   string
	Location                      string
	Announcement                  string
}

func (h *Handler) header(r *http.Request, rn *run) header {
	hd := header{Job: rn.job, Build: rn.build, Location: rn.loc.URL(), Refs: rn.refs()}
	start, end := rn.times()
	if !start.IsZero() {
		hd.Started = start.UTC().Format("2006-01-02 15:04:05 MST")
		hd.StartedISO = start.UTC().Format(time.RFC3339)
		if end.IsZero() {
			end = h.o.Clock.Now()
		}
		hd.Duration = end.Sub(start).Round(time.Second).String()
	}
	hd.State = rn.state()
	hd.StateClass = stateClass(hd.State)
	if rn.pj != nil {
		hd.ProwJobName = rn.pj.Name
		hd.ProwJobYAML = "/prowjob?prowjob=" + url.QueryEscape(rn.pj.Name)
		hd.Description = rn.pj.Status.Description
		hd.Actions = h.o.Chrome.Actions(r, rn.pj)
	}
	hd.JobHistory = jobHistoryLink(rn.loc)
	if d, err := h.o.Config().DeckSpyglass(); err == nil {
		hd.Announcement = d.Spyglass.Announcement
		if hd.Refs != nil && len(hd.Refs.Pulls) > 0 && !d.Spyglass.HidePRHistLink {
			hd.PRHistory = fmt.Sprintf("/pr-history?org=%s&repo=%s&pr=%d", url.QueryEscape(hd.Refs.Org), url.QueryEscape(hd.Refs.Repo), hd.Refs.Pulls[0].Number)
		}
	}
	return hd
}

// times are the run's start and end: the ProwJob's, else started.json's and finished.json's.
func (rn *run) times() (time.Time, time.Time) {
	var start, end time.Time
	if rn.started != nil {
		start = time.Unix(rn.started.Timestamp, 0)
	}
	if rn.finished != nil && rn.finished.Timestamp != nil {
		end = time.Unix(*rn.finished.Timestamp, 0)
	}
	if rn.pj != nil {
		if start.IsZero() {
			start = rn.pj.Status.StartTime.Time
		}
		if end.IsZero() && rn.pj.Status.CompletionTime != nil {
			end = rn.pj.Status.CompletionTime.Time
		}
	}
	return start, end
}

// state is the ProwJob's state, else finished.json's result, else what the files say.
func (rn *run) state() string {
	switch {
	case rn.pj != nil && rn.pj.Status.State != "":
		return string(rn.pj.Status.State)
	case rn.finished != nil && rn.finished.Result != "":
		return strings.ToLower(rn.finished.Result)
	case rn.finished != nil && rn.finished.Passed != nil && *rn.finished.Passed:
		return "success"
	case rn.finished != nil:
		return "failure"
	case rn.started != nil:
		return "running or unfinished"
	}
	return "unknown"
}

func stateClass(s string) string {
	switch s {
	case "success":
		return "ok"
	case "failure", "error":
		return "bad"
	case "aborted":
		return "aborted"
	case "pending", "triggered", "running or unfinished":
		return "running"
	}
	return "unknown"
}

// jobHistoryLink is the job's history page for a run directory, as Prow's JobPath: logs/<job>
// for a periodic or postsubmit, pr-logs/directory/<job> for a presubmit.
func jobHistoryLink(loc location) string {
	segs := strings.Split(loc.Key, "/")
	if len(segs) < 2 {
		return ""
	}
	base := path.Join(loc.Provider, strings.TrimPrefix(loc.Name, "/"))
	for i, s := range segs {
		switch s {
		case "logs":
			return "/job-history/" + path.Join(base, path.Dir(loc.Key))
		case "pr-logs":
			return "/job-history/" + path.Join(base, path.Join(segs[:i]...), "pr-logs/directory", segs[len(segs)-2])
		}
	}
	return ""
}

// section is one lens on the page: it fails alone, showing its error and leaving the rest.
type section struct {
	ID, Title string
	Body      template.HTML
	Err       string
}

// lens renders one section; errNothing leaves it out.
type lens struct {
	id, title string
	render    lensRender
}

// errNothing says a lens has nothing to show for this run.
var errNothing = fmt.Errorf("nothing to show")

// pageLenses are the lenses the config chooses for the run (lensconfig.go), then the artifacts
// listing; a config that cannot be used is a section saying why.
func (h *Handler) pageLenses(ctx context.Context, rn *run) []chosenLens {
	chosen, err := h.chooseLenses(ctx, rn)
	if err != nil {
		chosen = append(chosen, chosenLens{lens: lens{id: "lenses", title: "Lenses"}, err: err})
	}
	return append(chosen, chosenLens{lens: lens{"artifacts", "Artifacts", h.artifactsLens}})
}

// sections renders the lenses in parallel; a lens that panics or fails shows its error.
func (h *Handler) sections(ctx context.Context, r *http.Request, rn *run) []section {
	ls := h.pageLenses(ctx, rn)
	out := make([]section, len(ls))
	var wg sync.WaitGroup
	for i, l := range ls {
		out[i] = section{ID: l.id, Title: l.title}
		if l.err != nil || l.render == nil {
			out[i].Err = fmt.Sprint(l.err)
			continue
		}
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					out[i].Err = fmt.Sprintf("the %s view failed: %v", l.id, p)
				}
			}()
			body, err := l.render(ctx, r, rn, l.files)
			if errors.Is(err, errNothing) {
				out[i].ID = ""
				return
			}
			if err != nil {
				out[i].Err = err.Error()
			}
			out[i].Body = body
		})
	}
	wg.Wait()
	shown := out[:0]
	for _, s := range out {
		if s.ID != "" {
			shown = append(shown, s)
		}
	}
	return shown
}

// humanSize is a byte count as people read it.
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
