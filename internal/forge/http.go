package forge

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/go-logr/logr"

	"github.com/prowl-ci/prowl/internal/gitserve"
)

// maxBody bounds a request body of the API.
const maxBody = 1 << 20

type userKey struct{}

// Handler serves the repositories at /ORG/REPO.git, the REST API under APIPath and the local
// calls under /api/prowl/. Requests are logged through the logger in ctx.
func (s *Server) Handler(ctx context.Context) (http.Handler, error) {
	gitH, err := gitserve.Handler(GitRoot(s.o.DataDir))
	if err != nil {
		return nil, err
	}
	api := http.NewServeMux()
	s.routeAPI(api)
	local := http.NewServeMux()
	s.routeLocal(local)
	mux := http.NewServeMux()
	mux.Handle(APIPath, http.StripPrefix(strings.TrimSuffix(APIPath, "/"), s.authenticate(api)))
	mux.Handle(localPath, http.StripPrefix(strings.TrimSuffix(localPath, "/"), s.authenticate(local)))
	mux.Handle("/", pushFromLoopbackOnly(gitH))
	log := logr.FromContextOrDiscard(ctx).WithName("local-github")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(logr.NewContext(r.Context(), log))
		mux.ServeHTTP(w, r)
	}), nil
}

// pushFromLoopbackOnly refuses pushes (git-receive-pack) from other machines: the repositories
// have no accounts, so only this machine may change them. Fetches are open to all.
func pushFromLoopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("service") == "git-receive-pack" || strings.HasSuffix(r.URL.Path, "/git-receive-pack") {
			host, _, err := net.SplitHostPort(r.RemoteAddr)
			if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
				http.Error(w, "pushes are accepted from this machine only", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate accepts the local GitHub's token (as `token T` or `Bearer T`) and acts as the bot,
// or as the user the X-Prowl-As header names.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if subtle.ConstantTimeCompare([]byte(token), []byte(s.token)) != 1 {
			writeError(w, http.StatusUnauthorized, "Bad credentials: use the token in "+TokenPath(s.o.DataDir))
			return
		}
		user := s.o.Bot
		if as := r.Header.Get(actAsHeader); as != "" {
			user = as
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		w.Header().Set("X-GitHub-Media-Type", "github.v3; format=json")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
	})
}

// actor is the user a request acts as.
func actor(r *http.Request) string {
	u, _ := r.Context().Value(userKey{}).(string)
	return u
}

// writeError answers as GitHub does: {"message", "documentation_url"}.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// readJSON decodes a request body into v, answering 400 (and returning false) when it cannot.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	raw, err := io.ReadAll(r.Body)
	if err == nil {
		err = json.Unmarshal(raw, v)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON: "+err.Error())
		return false
	}
	return true
}

// orgRepo is the request's {org}/{repo}.
func orgRepo(r *http.Request) string { return r.PathValue("org") + "/" + r.PathValue("repo") }
