package deck

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// filter is the job list's filters, all in the URL so that a view can be shared.
type filter struct {
	Type    string
	Repo    string // org/repo, matched against refs and every extra_refs
	Pull    int
	Author  string
	Job     string // a glob with *
	State   string
	Cluster string
}

// filterParams are the query parameters filter reads, in the order the form shows them.
var filterParams = []string{"type", "repo", "pull", "author", "job", "state", "cluster"}

var (
	jobTypes  = []string{string(prowv1.PresubmitJob), string(prowv1.PostsubmitJob), string(prowv1.PeriodicJob), string(prowv1.BatchJob)}
	jobStates = []string{string(prowv1.TriggeredState), string(prowv1.PendingState), string(prowv1.SuccessState),
		string(prowv1.FailureState), string(prowv1.AbortedState), string(prowv1.ErrorState)}
)

// maxParam bounds every parameter's length: nothing longer is a real name.
const maxParam = 256

// badParam is a request error that names the parameter, answered 400.
type badParam struct{ name, why string }

func (e badParam) Error() string { return fmt.Sprintf("parameter %q: %s", e.name, e.why) }

// parseFilter reads and checks the filters in q.
func parseFilter(q url.Values) (filter, error) {
	var f filter
	for k, v := range q {
		if len(v) > 1 && slices.Contains(filterParams, k) {
			return f, badParam{k, "given more than once"}
		}
		for _, s := range v {
			if len(s) > maxParam {
				return f, badParam{k, fmt.Sprintf("longer than %d characters", maxParam)}
			}
		}
	}
	f.Type, f.Repo, f.Author, f.Job = q.Get("type"), q.Get("repo"), q.Get("author"), q.Get("job")
	f.State, f.Cluster = q.Get("state"), q.Get("cluster")
	if f.Type != "" && !slices.Contains(jobTypes, f.Type) {
		return f, badParam{"type", "must be one of " + strings.Join(jobTypes, ", ")}
	}
	if f.State != "" && !slices.Contains(jobStates, f.State) {
		return f, badParam{"state", "must be one of " + strings.Join(jobStates, ", ")}
	}
	if f.Repo != "" {
		org, repo, ok := strings.Cut(f.Repo, "/")
		if !ok || org == "" || repo == "" || strings.Contains(repo, "/") {
			return f, badParam{"repo", "must be org/repo"}
		}
	}
	if s := q.Get("pull"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return f, badParam{"pull", "must be a pull request number"}
		}
		f.Pull = n
	}
	if f.Job != "" {
		if _, err := path.Match(f.Job, ""); err != nil {
			return f, badParam{"job", "is not a valid glob: " + err.Error()}
		}
	}
	return f, nil
}

// empty says whether no filter is set.
func (f filter) empty() bool { return f == filter{} }

// matches says whether r passes every filter set.
func (f filter) matches(r *row) bool {
	switch {
	case f.Type != "" && string(r.typ) != f.Type:
		return false
	case f.State != "" && string(r.state) != f.State:
		return false
	case f.Cluster != "" && r.cluster != f.Cluster:
		return false
	case f.Repo != "" && !slices.Contains(r.repos, f.Repo):
		return false
	case f.Pull != 0 && !slices.Contains(r.pulls, f.Pull):
		return false
	case f.Author != "" && !slices.ContainsFunc(r.authors, func(a string) bool { return strings.EqualFold(a, f.Author) }):
		return false
	}
	if f.Job != "" {
		if ok, _ := path.Match(f.Job, r.job); !ok {
			return false
		}
	}
	return true
}

// query is the filter as URL parameters (only those set).
func (f filter) query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("type", f.Type)
	set("repo", f.Repo)
	if f.Pull != 0 {
		q.Set("pull", strconv.Itoa(f.Pull))
	}
	set("author", f.Author)
	set("job", f.Job)
	set("state", f.State)
	set("cluster", f.Cluster)
	return q
}
