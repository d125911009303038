package forge

import (
	"net/http"
	"regexp"
	"slices"
	"strings"

	gh "github.com/google/go-github/v82/github"
)

// routeLocal adds the calls GitHub has no REST route for: a push happened (the repositories'
// post-receive hook), a pull request is to follow its branch, and every pull request at once.
func (s *Server) routeLocal(mux *http.ServeMux) {
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("POST /repos/{org}/{repo}/pushed", s.pushed)
	mux.HandleFunc("POST /repos/{org}/{repo}/pulls/{n}/sync", s.syncPull)
	mux.HandleFunc("GET /pulls", s.allPulls)
}

// RefUpdate is one line a post-receive hook reads: a ref moved from Before to After.
type RefUpdate struct {
	Before string `json:"before"`
	After  string `json:"after"`
	Ref    string `json:"ref"`
}

var sha1 = regexp.MustCompile(`^[0-9a-f]{40}$`)

// pushed sends a push event for each branch a push moved, then moves the pull requests whose
// head is that branch (pull_request synchronize), as GitHub does.
func (s *Server) pushed(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Pusher  string      `json:"pusher"`
		Updates []RefUpdate `json:"updates"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	full, ctx := orgRepo(r), r.Context()
	if in.Pusher == "" {
		in.Pusher = actor(r)
	}
	s.mutate(w, r, http.StatusOK, func() (any, []event, *apiError) {
		if !s.repoExists(full) {
			return nil, nil, notFound()
		}
		var events []event
		for _, u := range in.Updates {
			if !sha1.MatchString(u.Before) || !sha1.MatchString(u.After) || !strings.HasPrefix(u.Ref, "refs/") {
				return nil, nil, invalid("update %+v: want 40-hex before and after and a refs/ name", u)
			}
			if !strings.HasPrefix(u.Ref, "refs/heads/") && !strings.HasPrefix(u.Ref, "refs/tags/") {
				continue // refs/pull/N/head is ours
			}
			push, err := s.pushEvent(ctx, full, u.Ref, u.Before, u.After, in.Pusher)
			if err != nil {
				return nil, nil, &apiError{http.StatusInternalServerError, err.Error()}
			}
			events = append(events, push)
			if branch, ok := strings.CutPrefix(u.Ref, "refs/heads/"); ok && u.After != zeroSHA {
				sync, err := s.synchronize(ctx, full, branch, u.After, in.Pusher)
				events = append(events, sync...)
				if err != nil {
					return nil, events, &apiError{http.StatusInternalServerError, err.Error()}
				}
			}
		}
		return map[string]int{"events": len(events)}, events, nil
	})
}

// syncPull moves a pull request to its branch's tip (sending synchronize) when the branch moved
// without its event (a push with hooks off); it answers the pull request.
func (s *Server) syncPull(w http.ResponseWriter, r *http.Request) {
	full, ctx := orgRepo(r), r.Context()
	s.mutate(w, r, http.StatusOK, func() (any, []event, *apiError) {
		p, aerr := s.pull(r)
		if aerr != nil {
			return nil, nil, aerr
		}
		if p.State != "open" {
			return nil, nil, invalid("pull request #%d is closed", p.Number)
		}
		sha := branchSHA(ctx, s.repoDir(full), p.Head)
		if sha == "" {
			return nil, nil, invalid("branch %q of pull request #%d is gone; push it again", p.Head, p.Number)
		}
		events, err := s.synchronize(ctx, full, p.Head, sha, actor(r))
		if err != nil {
			return nil, events, &apiError{http.StatusInternalServerError, err.Error()}
		}
		return s.pullJSON(ctx, full, p.clone()), events, nil
	})
}

// allPulls lists every repository's pull requests, for `prowl pr list` and for finding a pull
// request by number alone.
func (s *Server) allPulls(w http.ResponseWriter, r *http.Request) {
	s.read(w, func() (any, *apiError) {
		out := []*gh.PullRequest{}
		repos := make([]string, 0, len(s.st.Repos))
		for full := range s.st.Repos {
			repos = append(repos, full)
		}
		slices.Sort(repos)
		for _, full := range repos {
			for _, n := range sortedNumbers(s.st.Repos[full].Pulls) {
				out = append(out, s.pullJSON(r.Context(), full, s.st.Repos[full].Pulls[n].clone()))
			}
		}
		return out, nil
	})
}
