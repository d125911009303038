package deck

import (
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// Page sizes of the job list.
const (
	defaultPageSize = 100
	maxPageSize     = 500
)

// rowView is one row of the job list as the template shows it: the cells that change only with
// the job, rendered once per version of it (cellsView), and those that change with the time and
// the viewer.
type rowView struct {
	ID, State                       string
	StartMillis                     int64
	Cells                           template.HTML
	Started, StartedExact, Duration string
	Actions                         template.HTML
}

// cellsView is the cells of a row that depend only on the job: state, job, build, repository,
// pull request.
type cellsView struct {
	Job, BuildID, State, Type string
	Repo, RepoLink            string
	Pull                      int
	PullLink, PullTitle       string
	Author, AuthorLink        string
	RunURL                    string
}

// renderedCells is a row's cells as HTML, for one GitHub link base.
type renderedCells struct {
	link string
	html template.HTML
}

// rateView is the success rate of finished jobs over a window.
type rateView struct {
	Window  string
	Percent int
	Done    int
	Class   string
}

type countView struct {
	State string
	N     int
}

type listView struct {
	Filter     filter
	Types      []string
	States     []string
	Rows       []rowView
	Counts     []countView
	Total      int
	Rates      []rateView
	Next       string
	First      string
	Live       string // the /events URL for this filter, on the first page only
	Size       int
	Empty      bool
	PageOffset bool
	Filtered   bool
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := parseFilter(q)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	size := defaultPageSize
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			http.Error(w, fmt.Sprintf("parameter \"size\": must be a number from 1 to %d", maxPageSize), http.StatusBadRequest)
			return
		}
		size = n
	}
	var after *cursor
	if v := q.Get("after"); v != "" {
		var ok bool
		if after, ok = parseCursor(v); !ok {
			http.Error(w, `parameter "after": not a cursor from a "Next" link`, http.StatusBadRequest)
			return
		}
	}
	v := s.listView(r, f, after, size)
	body, err := render("list", v)
	if err != nil {
		http.Error(w, "render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	s.Page(w, r, "Jobs", body)
}

// listView gathers one page of rows after the cursor, and the counts and rates for the filter.
func (s *Server) listView(r *http.Request, f filter, after *cursor, size int) listView {
	v := listView{Filter: f, Types: jobTypes, States: jobStates, Size: size, PageOffset: after != nil, Filtered: !f.empty()}
	now := s.o.Clock.Now()
	var last *row
	s.index.each(after, func(rw *row) bool {
		if !f.matches(rw) {
			return true
		}
		if len(v.Rows) == size {
			v.Next = "?" + withCursor(f, cursor{start: last.start, name: last.name}, size)
			return false
		}
		v.Rows = append(v.Rows, s.rowView(r, rw, now))
		last = rw
		return true
	})
	v.Empty = len(v.Rows) == 0
	v.Counts, v.Total, v.Rates = s.summary(f, now)
	if after != nil {
		q := f.query()
		if size != defaultPageSize {
			q.Set("size", strconv.Itoa(size))
		}
		v.First = "?" + q.Encode()
	} else {
		v.Live = "/events?" + f.query().Encode()
	}
	return v
}

func withCursor(f filter, c cursor, size int) string {
	q := f.query()
	q.Set("after", c.String())
	if size != defaultPageSize {
		q.Set("size", strconv.Itoa(size))
	}
	return q.Encode()
}

// summary is the counts by state of the filter's jobs and its success rate (success out of
// success, failure and error) over jobs finished in the last 3, 12 and 48 hours.
func (s *Server) summary(f filter, now time.Time) ([]countView, int, []rateView) {
	c := s.index.summary(f, now)
	cv := make([]countView, 0, len(jobStates))
	for _, st := range jobStates {
		cv = append(cv, countView{State: st, N: c.states[prowv1.ProwJobState(st)]})
	}
	rv := make([]rateView, 0, len(rateWindows))
	for i, win := range rateWindows {
		r := rateView{Window: fmt.Sprintf("%dh", int(win.Hours())), Done: c.done[i], Class: "rate-none"}
		if c.done[i] > 0 {
			r.Percent = c.ok[i] * 100 / c.done[i]
			switch {
			case r.Percent >= 90:
				r.Class = "rate-good"
			case r.Percent >= 60:
				r.Class = "rate-fair"
			default:
				r.Class = "rate-bad"
			}
		}
		rv = append(rv, r)
	}
	return cv, c.total, rv
}

// rowView is the template's view of one row.
func (s *Server) rowView(r *http.Request, rw *row, now time.Time) rowView {
	pj := rw.pj
	v := rowView{ID: "pj-" + pj.Name, State: string(pj.Status.State), Cells: s.cells(rw), Actions: s.Actions(r, pj)}
	if v.State == "" {
		v.State = string(prowv1.TriggeredState)
	}
	if !rw.start.IsZero() {
		v.Started = relative(now.Sub(rw.start)) + " ago"
		v.StartedExact = rw.start.UTC().Format(time.RFC3339)
		v.StartMillis = rw.start.UnixMilli()
		end := now
		if !rw.end.IsZero() {
			end = rw.end
		}
		v.Duration = duration(end.Sub(rw.start))
	}
	return v
}

// cells renders the row's job-only cells once per version of the job (a row is replaced, never
// changed, on each informer event) and GitHub link base: escaping them is most of a page's cost.
func (s *Server) cells(rw *row) template.HTML {
	link := s.githubLink()
	if c := rw.cells.Load(); c != nil && c.link == link {
		return c.html
	}
	pj := rw.pj
	v := cellsView{Job: pj.Spec.Job, BuildID: pj.Status.BuildID, State: string(pj.Status.State), Type: string(pj.Spec.Type), RunURL: runURL(pj)}
	if v.State == "" {
		v.State = string(prowv1.TriggeredState)
	}
	if len(rw.repos) > 0 {
		v.Repo = rw.repos[0]
		v.RepoLink = link + "/" + v.Repo
	}
	if refs := pj.Spec.Refs; refs != nil && len(refs.Pulls) > 0 {
		p := refs.Pulls[0]
		v.Pull, v.PullTitle, v.Author = p.Number, p.Title, p.Author
		v.PullLink = p.Link
		if v.PullLink == "" {
			v.PullLink = fmt.Sprintf("%s/%s/%s/pull/%d", link, refs.Org, refs.Repo, p.Number)
		}
		v.AuthorLink = p.AuthorLink
		if v.AuthorLink == "" && p.Author != "" {
			v.AuthorLink = link + "/" + p.Author
		}
	}
	html, err := render("cells", v)
	if err != nil {
		return template.HTML("<td colspan=\"5\">" + template.HTMLEscapeString(err.Error()) + "</td>") // #nosec G203 -- escaped
	}
	rw.cells.Store(&renderedCells{link: link, html: html})
	return html
}

func (s *Server) githubLink() string {
	if l := s.o.Config().GitHubOptions.LinkURLFromConfig; l != "" {
		return strings.TrimSuffix(l, "/")
	}
	if s.o.GitHubLink != "" {
		return strings.TrimSuffix(s.o.GitHubLink, "/")
	}
	return "https://github.com"
}

// relative is an age in its largest unit: 42s, 5m, 3h, 2d.
func relative(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(0, int(d.Seconds())))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// duration is a run's length: 45s, 3m12s, 1h04m.
func duration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
