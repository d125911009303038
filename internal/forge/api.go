package forge

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v82/github"
)

// routeAPI adds GitHub's REST routes that Trigger, Crier and `prowl pr` call.
func (s *Server) routeAPI(mux *http.ServeMux) {
	mux.HandleFunc("GET /repos/{org}/{repo}", s.getRepo)
	mux.HandleFunc("POST /orgs/{org}/repos", s.createRepo)
	mux.HandleFunc("GET /repos/{org}/{repo}/pulls", s.listPulls)
	mux.HandleFunc("POST /repos/{org}/{repo}/pulls", s.openPull)
	mux.HandleFunc("GET /repos/{org}/{repo}/pulls/{n}", s.getPull)
	mux.HandleFunc("PATCH /repos/{org}/{repo}/pulls/{n}", s.editPull)
	mux.HandleFunc("GET /repos/{org}/{repo}/pulls/{n}/files", s.listPullFiles)
	mux.HandleFunc("GET /orgs/{org}/members/{user}", s.isMember)
	mux.HandleFunc("GET /repos/{org}/{repo}/collaborators/{user}", s.isCollaborator)
	mux.HandleFunc("GET /repos/{org}/{repo}/issues/{n}/comments", s.listComments)
	mux.HandleFunc("POST /repos/{org}/{repo}/issues/{n}/comments", s.createComment)
	mux.HandleFunc("PATCH /repos/{org}/{repo}/issues/comments/{id}", s.editComment)
	mux.HandleFunc("DELETE /repos/{org}/{repo}/issues/comments/{id}", s.deleteComment)
	mux.HandleFunc("GET /repos/{org}/{repo}/issues/{n}/labels", s.listLabels)
	mux.HandleFunc("POST /repos/{org}/{repo}/issues/{n}/labels", s.addLabels)
	mux.HandleFunc("DELETE /repos/{org}/{repo}/issues/{n}/labels/{label}", s.removeLabel)
	mux.HandleFunc("POST /repos/{org}/{repo}/statuses/{sha}", s.createStatus)
	mux.HandleFunc("GET /repos/{org}/{repo}/commits/{ref}/statuses", s.listStatuses)
	mux.HandleFunc("GET /repos/{org}/{repo}/commits/{ref}/status", s.combinedStatus)
}

// apiError is an answer other than success.
type apiError struct {
	code int
	msg  string
}

func notFound() *apiError { return &apiError{http.StatusNotFound, "Not Found"} }

func invalid(format string, args ...any) *apiError {
	return &apiError{http.StatusUnprocessableEntity, "Validation Failed: " + fmt.Sprintf(format, args...)}
}

// mutate runs change under the lock, saves the state, sends the events the change caused, and
// answers code with its result (204 with none). A webhook that could not be delivered does not
// undo the change (GitHub's neither); the answer says so in the X-Prowl-Webhook-Error header.
func (s *Server) mutate(w http.ResponseWriter, r *http.Request, code int, change func() (any, []event, *apiError)) {
	s.mu.Lock()
	resp, events, aerr := change()
	if aerr == nil {
		if err := s.save(); err != nil {
			aerr = &apiError{http.StatusInternalServerError, "saving the local GitHub's state: " + err.Error()}
		}
	}
	s.mu.Unlock()
	if aerr != nil {
		writeError(w, aerr.code, aerr.msg)
		return
	}
	if err := s.deliver(r.Context(), events); err != nil {
		w.Header().Set(webhookHeader, strings.ReplaceAll(err.Error(), "\n", " "))
	}
	if resp == nil {
		w.WriteHeader(code)
		return
	}
	writeJSON(w, code, resp)
}

// read answers with what view returns under the lock.
func (s *Server) read(w http.ResponseWriter, view func() (any, *apiError)) {
	s.mu.Lock()
	resp, aerr := view()
	s.mu.Unlock()
	if aerr != nil {
		writeError(w, aerr.code, aerr.msg)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// pull is the request's pull request; the caller holds mu.
func (s *Server) pull(r *http.Request) (*Pull, *apiError) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		return nil, notFound()
	}
	rs := s.st.Repos[orgRepo(r)]
	if rs == nil || rs.Pulls[n] == nil {
		return nil, notFound()
	}
	return rs.Pulls[n], nil
}

func (s *Server) getRepo(w http.ResponseWriter, r *http.Request) {
	if !s.repoExists(orgRepo(r)) {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.repoJSON(r.Context(), orgRepo(r)))
}

// repoName is what GitHub accepts as a repository (and org) name.
var repoName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)

func (s *Server) createRepo(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	full := r.PathValue("org") + "/" + in.Name
	s.mutate(w, r, http.StatusCreated, func() (any, []event, *apiError) {
		if !repoName.MatchString(r.PathValue("org")) || !repoName.MatchString(in.Name) || strings.HasSuffix(in.Name, ".git") || in.Name == "." || in.Name == ".." {
			return nil, nil, invalid("name %q: use letters, digits, '-', '_' and '.'", full)
		}
		if s.repoExists(full) {
			return nil, nil, invalid("name already exists on this account")
		}
		dir := s.repoDir(full)
		if _, err := git(r.Context(), GitRoot(s.o.DataDir), "init", "-q", "--bare", "-b", "main", dir); err != nil {
			return nil, nil, &apiError{http.StatusInternalServerError, err.Error()}
		}
		if err := prepareRepo(r.Context(), dir, s.o.Self, s.o.DataDir, full); err != nil {
			return nil, nil, &apiError{http.StatusInternalServerError, err.Error()}
		}
		s.st.repo(full)
		return s.repoJSON(r.Context(), full), nil, nil
	})
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request) {
	want := r.URL.Query().Get("state")
	if want == "" {
		want = "open"
	}
	s.read(w, func() (any, *apiError) {
		out := []*gh.PullRequest{}
		rs := s.st.Repos[orgRepo(r)]
		if rs == nil {
			return out, nil
		}
		for _, n := range sortedNumbers(rs.Pulls) {
			if p := rs.Pulls[n]; want == "all" || p.State == want {
				out = append(out, s.pullJSON(r.Context(), orgRepo(r), p.clone()))
			}
		}
		return out, nil
	})
}

// sortedNumbers are the pull requests' numbers, newest first, as GitHub lists them.
func sortedNumbers(pulls map[int]*Pull) []int {
	var ns []int
	for n := range pulls {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	slices.Reverse(ns)
	return ns
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request) {
	s.read(w, func() (any, *apiError) {
		p, aerr := s.pull(r)
		if aerr != nil {
			return nil, aerr
		}
		return s.pullJSON(r.Context(), orgRepo(r), p.clone()), nil
	})
}

func (s *Server) listPullFiles(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p, aerr := s.pull(r)
	var base, head string
	if aerr == nil {
		base, head = p.BaseSHA, p.HeadSHA
	}
	s.mu.Unlock()
	if aerr != nil {
		writeError(w, aerr.code, aerr.msg)
		return
	}
	files, err := pullFiles(r.Context(), s.repoDir(orgRepo(r)), base, head)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := []*gh.CommitFile{}
	for _, f := range files {
		cf := &gh.CommitFile{Filename: gh.Ptr(f.Name), Status: gh.Ptr(f.Status)}
		if f.Previous != "" {
			cf.PreviousFilename = gh.Ptr(f.Previous)
		}
		out = append(out, cf)
	}
	writeJSON(w, http.StatusOK, page(w, r, s.o.URL, out))
}

// page answers one page of items by per_page (default 30, at most 100) and page, with the Link
// header GitHub sends when there are more.
func page[T any](w http.ResponseWriter, r *http.Request, base string, items []T) []T {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	n, _ := strconv.Atoi(q.Get("page"))
	n = max(n, 1)
	start := min((n-1)*per, len(items))
	end := min(start+per, len(items))
	if end < len(items) {
		q.Set("page", strconv.Itoa(n+1))
		next := fmt.Sprintf("%s%s%s?%s", base, strings.TrimSuffix(APIPath, "/"), r.URL.Path, q.Encode())
		w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, next))
	}
	return items[start:end]
}

func (s *Server) isMember(w http.ResponseWriter, r *http.Request) {
	s.answerMembership(w, func(m members) bool { return m.isMember(r.PathValue("org"), r.PathValue("user")) })
}

func (s *Server) isCollaborator(w http.ResponseWriter, r *http.Request) {
	s.answerMembership(w, func(m members) bool {
		return m.isCollaborator(r.PathValue("org"), r.PathValue("repo"), r.PathValue("user"))
	})
}

// answerMembership answers 204 (yes) or 404 (no), as GitHub does, from the members file.
func (s *Server) answerMembership(w http.ResponseWriter, is func(members) bool) {
	m, err := loadMembers(MembersPath(s.o.DataDir))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if is(m) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.WriteHeader(http.StatusNotFound)
}
