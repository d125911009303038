package forge

import (
	"net/http"
	"slices"
	"strconv"

	gh "github.com/google/go-github/v82/github"
)

func (s *Server) listComments(w http.ResponseWriter, r *http.Request) {
	s.read(w, func() (any, *apiError) {
		p, aerr := s.pull(r)
		if aerr != nil {
			return nil, aerr
		}
		comments := []*gh.IssueComment{}
		for _, c := range p.Comments {
			comments = append(comments, s.commentJSON(orgRepo(r), p.Number, c))
		}
		return page(w, r, s.o.URL, comments), nil
	})
}

type bodyInput struct {
	Body string `json:"body"`
}

// createComment comments as the caller and sends issue_comment created, as GitHub does for every
// comment (the bot's too).
func (s *Server) createComment(w http.ResponseWriter, r *http.Request) {
	var in bodyInput
	if !readJSON(w, r, &in) {
		return
	}
	full := orgRepo(r)
	s.mutate(w, r, http.StatusCreated, func() (any, []event, *apiError) {
		p, aerr := s.pull(r)
		if aerr != nil {
			return nil, nil, aerr
		}
		if in.Body == "" {
			return nil, nil, invalid("body is missing")
		}
		now := s.o.Clock.Now().UTC()
		s.st.NextCommentID++
		c := Comment{ID: s.st.NextCommentID, User: actor(r), Body: in.Body, CreatedAt: now, UpdatedAt: now}
		p.Comments = append(p.Comments, c)
		ev := event{name: "issue_comment", payload: &gh.IssueCommentEvent{Action: gh.Ptr("created"), Issue: s.issueJSON(full, p.clone()),
			Comment: s.commentJSON(full, p.Number, c), Repo: s.repoJSON(r.Context(), full), Sender: s.userJSON(actor(r))}}
		return s.commentJSON(full, p.Number, c), []event{ev}, nil
	})
}

// comment is the request's comment {id} of org/repo; the caller holds mu.
func (s *Server) comment(r *http.Request) (*Pull, int, *apiError) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	rs := s.st.Repos[orgRepo(r)]
	if err != nil || rs == nil {
		return nil, 0, notFound()
	}
	p, i := rs.findComment(id)
	if p == nil {
		return nil, 0, notFound()
	}
	return p, i, nil
}

func (s *Server) editComment(w http.ResponseWriter, r *http.Request) {
	var in bodyInput
	if !readJSON(w, r, &in) {
		return
	}
	s.mutate(w, r, http.StatusOK, func() (any, []event, *apiError) {
		p, i, aerr := s.comment(r)
		if aerr != nil {
			return nil, nil, aerr
		}
		if in.Body == "" {
			return nil, nil, invalid("body is missing")
		}
		p.Comments[i].Body, p.Comments[i].UpdatedAt = in.Body, s.o.Clock.Now().UTC()
		return s.commentJSON(orgRepo(r), p.Number, p.Comments[i]), nil, nil
	})
}

func (s *Server) deleteComment(w http.ResponseWriter, r *http.Request) {
	s.mutate(w, r, http.StatusNoContent, func() (any, []event, *apiError) {
		p, i, aerr := s.comment(r)
		if aerr != nil {
			return nil, nil, aerr
		}
		p.Comments = slices.Delete(p.Comments, i, i+1)
		return nil, nil, nil
	})
}

func (s *Server) listLabels(w http.ResponseWriter, r *http.Request) {
	s.read(w, func() (any, *apiError) {
		p, aerr := s.pull(r)
		if aerr != nil {
			return nil, aerr
		}
		return s.labelsJSON(p.Labels), nil
	})
}

// addLabels adds labels (a JSON array, or {"labels": [...]}) and sends pull_request labeled for
// each label that was not there.
func (s *Server) addLabels(w http.ResponseWriter, r *http.Request) {
	var raw any
	if !readJSON(w, r, &raw) {
		return
	}
	labels, ok := labelNames(raw)
	if !ok || len(labels) == 0 {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed: labels must be a list of names")
		return
	}
	full := orgRepo(r)
	s.mutate(w, r, http.StatusOK, func() (any, []event, *apiError) {
		p, aerr := s.pull(r)
		if aerr != nil {
			return nil, nil, aerr
		}
		var events []event
		for _, l := range labels {
			if slices.Contains(p.Labels, l) {
				continue
			}
			p.Labels = append(p.Labels, l)
			ev := s.pullEvent(r.Context(), full, p.clone(), "labeled", actor(r))
			ev.payload.(*gh.PullRequestEvent).Label = &gh.Label{Name: gh.Ptr(l), ID: gh.Ptr(id(l))}
			events = append(events, ev)
		}
		return s.labelsJSON(p.Labels), events, nil
	})
}

// labelNames reads either body shape GitHub accepts.
func labelNames(raw any) ([]string, bool) {
	if obj, ok := raw.(map[string]any); ok {
		raw = obj["labels"]
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, false
	}
	var out []string
	for _, v := range list {
		name, ok := v.(string)
		if !ok || name == "" {
			return nil, false
		}
		out = append(out, name)
	}
	return out, true
}

// removeLabel removes a label and sends pull_request unlabeled; a label that is not there is 404.
func (s *Server) removeLabel(w http.ResponseWriter, r *http.Request) {
	full := orgRepo(r)
	s.mutate(w, r, http.StatusOK, func() (any, []event, *apiError) {
		p, aerr := s.pull(r)
		if aerr != nil {
			return nil, nil, aerr
		}
		label := r.PathValue("label")
		i := slices.Index(p.Labels, label)
		if i < 0 {
			return nil, nil, &apiError{http.StatusNotFound, "Label does not exist"}
		}
		p.Labels = slices.Delete(p.Labels, i, i+1)
		ev := s.pullEvent(r.Context(), full, p.clone(), "unlabeled", actor(r))
		ev.payload.(*gh.PullRequestEvent).Label = &gh.Label{Name: gh.Ptr(label), ID: gh.Ptr(id(label))}
		return s.labelsJSON(p.Labels), []event{ev}, nil
	})
}
