package forge

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v82/github"
)

// openPull opens a pull request from head onto base, keeps refs/pull/N/head at head, and sends
// pull_request opened.
func (s *Server) openPull(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title string `json:"title"`
		Head  string `json:"head"`
		Base  string `json:"base"`
		Body  string `json:"body"`
		Draft bool   `json:"draft"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	full, ctx := orgRepo(r), r.Context()
	if i := strings.Index(in.Head, ":"); i >= 0 {
		in.Head = in.Head[i+1:] // org:branch
	}
	s.mutate(w, r, http.StatusCreated, func() (any, []event, *apiError) {
		if !s.repoExists(full) {
			return nil, nil, notFound()
		}
		dir := s.repoDir(full)
		headSHA, baseSHA := branchSHA(ctx, dir, in.Head), branchSHA(ctx, dir, in.Base)
		switch {
		case in.Head == "" || headSHA == "":
			return nil, nil, invalid("head: no branch %q in %s; push it first", in.Head, full)
		case in.Base == "" || baseSHA == "":
			return nil, nil, invalid("base: no branch %q in %s", in.Base, full)
		case in.Head == in.Base:
			return nil, nil, invalid("head and base are both %q", in.Head)
		}
		rs := s.st.repo(full)
		for _, p := range rs.Pulls {
			if p.State == "open" && p.Head == in.Head && p.Base == in.Base {
				return nil, nil, invalid("a pull request already exists for %s:%s (#%d)", r.PathValue("org"), in.Head, p.Number)
			}
		}
		if in.Title == "" {
			in.Title = in.Head
		}
		now := s.o.Clock.Now().UTC()
		rs.NextNumber++
		p := &Pull{Number: rs.NextNumber, Title: in.Title, Body: in.Body, Author: actor(r), Head: in.Head, Base: in.Base,
			HeadSHA: headSHA, BaseSHA: baseSHA, Draft: in.Draft, State: "open", Labels: []string{}, CreatedAt: now, UpdatedAt: now}
		if err := s.setPullRef(ctx, full, p); err != nil {
			rs.NextNumber--
			return nil, nil, &apiError{http.StatusInternalServerError, err.Error()}
		}
		rs.Pulls[p.Number] = p
		ev := s.pullEvent(ctx, full, p.clone(), "opened", actor(r))
		return s.pullJSON(ctx, full, p.clone()), []event{ev}, nil
	})
}

// setPullRef points refs/pull/N/head at the pull request's head, where clonerefs fetches it.
func (s *Server) setPullRef(ctx context.Context, full string, p *Pull) error {
	_, err := git(ctx, s.repoDir(full), "update-ref", "refs/pull/"+strconv.Itoa(p.Number)+"/head", p.HeadSHA)
	return err
}

// editPull changes a pull request's title, body or state (closed sends pull_request closed,
// open again reopened).
func (s *Server) editPull(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
		State *string `json:"state"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	full, ctx := orgRepo(r), r.Context()
	s.mutate(w, r, http.StatusOK, func() (any, []event, *apiError) {
		p, aerr := s.pull(r)
		if aerr != nil {
			return nil, nil, aerr
		}
		now := s.o.Clock.Now().UTC()
		var events []event
		if in.State != nil && *in.State != p.State {
			switch *in.State {
			case "closed":
				p.State, p.ClosedAt = "closed", &now
				events = append(events, s.pullEvent(ctx, full, p.clone(), "closed", actor(r)))
			case "open":
				p.State, p.ClosedAt = "open", nil
				events = append(events, s.pullEvent(ctx, full, p.clone(), "reopened", actor(r)))
			default:
				return nil, nil, invalid("state must be open or closed, not %q", *in.State)
			}
		}
		if in.Title != nil {
			p.Title = *in.Title
		}
		if in.Body != nil {
			p.Body = *in.Body
		}
		p.UpdatedAt = now
		return s.pullJSON(ctx, full, p.clone()), events, nil
	})
}

// synchronize moves the open pull requests whose head is branch to its new tip sha, keeping
// refs/pull/N/head, and returns their pull_request synchronize events. The caller holds mu.
func (s *Server) synchronize(ctx context.Context, full, branch, sha, sender string) ([]event, error) {
	rs := s.st.Repos[full]
	if rs == nil {
		return nil, nil
	}
	var events []event
	for _, n := range sortedNumbers(rs.Pulls) {
		p := rs.Pulls[n]
		if p.State != "open" || p.Head != branch || p.HeadSHA == sha {
			continue
		}
		before := p.HeadSHA
		p.HeadSHA, p.UpdatedAt = sha, s.o.Clock.Now().UTC()
		if base := branchSHA(ctx, s.repoDir(full), p.Base); base != "" {
			p.BaseSHA = base
		}
		if err := s.setPullRef(ctx, full, p); err != nil {
			return events, err
		}
		ev := s.pullEvent(ctx, full, p.clone(), "synchronize", sender)
		pe := ev.payload.(*gh.PullRequestEvent)
		pe.Before, pe.After = gh.Ptr(before), gh.Ptr(sha)
		events = append(events, ev)
	}
	return events, nil
}
