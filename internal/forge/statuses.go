package forge

import (
	"net/http"
	"slices"

	gh "github.com/google/go-github/v82/github"
)

// maxDescription is the longest status description GitHub accepts.
const maxDescription = 140

func (s *Server) createStatus(w http.ResponseWriter, r *http.Request) {
	var in struct {
		State       string `json:"state"`
		TargetURL   string `json:"target_url"`
		Description string `json:"description"`
		Context     string `json:"context"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	full, sha := orgRepo(r), r.PathValue("sha")
	s.mutate(w, r, http.StatusCreated, func() (any, []event, *apiError) {
		switch {
		case !s.repoExists(full):
			return nil, nil, notFound()
		case !slices.Contains([]string{"error", "failure", "pending", "success"}, in.State):
			return nil, nil, invalid("state must be one of error, failure, pending, success, not %q", in.State)
		case len(in.Description) > maxDescription:
			return nil, nil, invalid("description is too long (maximum is %d characters)", maxDescription)
		case !commitExists(r.Context(), s.repoDir(full), sha):
			return nil, nil, invalid("No commit found for SHA: %s", sha)
		}
		if in.Context == "" {
			in.Context = "default"
		}
		s.st.NextStatusID++
		st := Status{ID: s.st.NextStatusID, SHA: sha, State: in.State, TargetURL: in.TargetURL, Description: in.Description,
			Context: in.Context, Creator: actor(r), CreatedAt: s.o.Clock.Now().UTC()}
		rs := s.st.repo(full)
		rs.Statuses = append(rs.Statuses, st)
		return s.statusJSON(st), nil, nil
	})
}

// statusesOf resolves ref and returns its statuses, oldest first; the caller holds mu.
func (s *Server) statusesOf(r *http.Request) (string, []Status, *apiError) {
	full := orgRepo(r)
	if !s.repoExists(full) {
		return "", nil, notFound()
	}
	sha, err := resolve(r.Context(), s.repoDir(full), r.PathValue("ref"))
	if err != nil {
		return "", nil, &apiError{http.StatusNotFound, "No commit found for SHA: " + r.PathValue("ref")}
	}
	var out []Status
	if rs := s.st.Repos[full]; rs != nil {
		for _, st := range rs.Statuses {
			if st.SHA == sha {
				out = append(out, st)
			}
		}
	}
	return sha, out, nil
}

// listStatuses lists ref's statuses, newest first, as GitHub does.
func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request) {
	s.read(w, func() (any, *apiError) {
		_, all, aerr := s.statusesOf(r)
		if aerr != nil {
			return nil, aerr
		}
		out := []*gh.RepoStatus{}
		for _, st := range slices.Backward(all) {
			out = append(out, s.statusJSON(st))
		}
		return page(w, r, s.o.URL, out), nil
	})
}

// combinedStatus is GitHub's combined status: the newest status of each context and their sum.
func (s *Server) combinedStatus(w http.ResponseWriter, r *http.Request) {
	s.read(w, func() (any, *apiError) {
		sha, all, aerr := s.statusesOf(r)
		if aerr != nil {
			return nil, aerr
		}
		latest := latestPerContext(all, sha)
		out := &gh.CombinedStatus{State: gh.Ptr(combine(latest)), SHA: gh.Ptr(sha), TotalCount: gh.Ptr(len(latest)),
			Statuses: []*gh.RepoStatus{}, RepositoryURL: gh.Ptr(s.o.URL + APIPath + "repos/" + orgRepo(r))}
		for _, st := range latest {
			out.Statuses = append(out.Statuses, s.statusJSON(st))
		}
		return out, nil
	})
}
