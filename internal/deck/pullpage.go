package deck

import (
	"context"
	"errors"
	"net/http"
	"strconv"
)

// PullPagePath is where Deck serves a local pull request's page (GitHubLink is set to it under
// `prowl up`'s local GitHub, so the job list's pull request links land here).
const PullPagePath = "/github/"

// PullView is what the pull request page shows: what `prowl pr show` prints.
type PullView struct {
	Repo, Title, State, Author string
	Number                     int
	Head, HeadSHA, Base        string
	Labels                     []string
	// Combined is GitHub's combined status of the head; Statuses the newest of each context.
	Combined string
	Statuses []PullStatus
	Comments []PullComment
}

// PullStatus is one commit status.
type PullStatus struct{ State, Context, Description, TargetURL string }

// PullComment is one comment.
type PullComment struct{ User, Body string }

// ErrNoPull says there is no such pull request.
var ErrNoPull = errors.New("no such pull request")

// Pulls reads pull requests: `prowl up`'s local GitHub.
type Pulls interface {
	PullView(ctx context.Context, org, repo string, number int) (PullView, error)
}

// PullPage serves GET /github/{org}/{repo}/pull/{n}: a pull request with its statuses, labels
// and comments, escaped like every page of Deck's.
func (s *Server) PullPage(pulls Pulls) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PullPagePath+"{org}/{repo}/pull/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil {
			s.message(w, r, http.StatusNotFound, "Not found", "No pull request "+r.PathValue("n"), "/")
			return
		}
		v, err := pulls.PullView(r.Context(), r.PathValue("org"), r.PathValue("repo"), n)
		if errors.Is(err, ErrNoPull) {
			s.message(w, r, http.StatusNotFound, "Not found", "No pull request "+r.PathValue("org")+"/"+r.PathValue("repo")+"#"+r.PathValue("n"), "/")
			return
		}
		if err != nil {
			s.message(w, r, http.StatusInternalServerError, "Error", err.Error(), "/")
			return
		}
		body, err := render("pull", v)
		if err != nil {
			http.Error(w, "render page: "+err.Error(), http.StatusInternalServerError)
			return
		}
		s.Page(w, r, v.Repo+"#"+r.PathValue("n")+" "+v.Title, body)
	})
	return mux
}
