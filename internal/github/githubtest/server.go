// Package githubtest is a GitHub REST API on loopback for tests: the endpoints Prowl's client
// calls (pull requests and their files, org membership, collaborators, issue comments, labels,
// commit statuses, App installations and their tokens), answering with GitHub's JSON shapes and
// headers (ETag with 304 on If-None-Match, X-RateLimit-*, Link pagination). GitHub itself cannot
// run here, so this fake stands in for it; it records every call, and can fail or rate-limit
// requests on demand.
package githubtest

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// PullRequest is the fake's state of one pull request.
type PullRequest struct {
	Number  int
	Author  string
	HeadSHA string
	HeadRef string
	BaseRef string
	BaseSHA string
	Draft   bool
	State   string // open (default) or closed
	Files   []string
}

// Status is a commit status as it was posted.
type Status struct {
	SHA, State, TargetURL, Description, Context string
}

// Comment is an issue comment.
type Comment struct {
	ID     int64
	Number int
	Repo   string
	User   string
	Body   string
}

// Call is one request the fake answered.
type Call struct {
	Method, Path string
	Status       int
}

// Server is the fake GitHub.
type Server struct {
	URL string
	// BotLogin is the user comments are created as.
	BotLogin string

	srv *httptest.Server

	mu            sync.Mutex
	tokens        map[string]bool            // accepted tokens
	members       map[string]map[string]bool // org → users
	collaborators map[string]map[string]bool // org/repo → users
	pulls         map[string]*PullRequest    // org/repo#n
	labels        map[string][]string        // org/repo#n
	comments      []*Comment
	nextID        int64
	statuses      map[string][]Status // org/repo → in order
	calls         []Call
	failNext      []int            // statuses to answer the next requests with
	failOn        map[string][]int // the same, for requests to one "METHOD path" only
	rateLimited   int              // the next requests answer 403 rate limited
	remaining     int
	appKey        *rsa.PublicKey
	appID         string
	installations map[string]int64 // owner → installation ID
	tokenTTL      time.Duration
	issued        map[string]time.Time // installation token → expiry
	tokensIssued  int
	people        people // users, org IDs and teams (teams.go)
	webURL        string // where html_url fields point: https://github.com unless SetWebURL
	latency       time.Duration
	faults        *randomFaults
}

// randomFaults answer a fraction of requests, chosen by a seeded generator, with GitHub's errors.
type randomFaults struct {
	rng                      *rand.Rand
	fraction                 float64
	serverErrors, rateLimits int
}

// FailRandomly answers the given fraction of requests, chosen by rng (seed it, and print the seed,
// so that a failure can be replayed), with an error instead: half of them 500, half a 403 rate
// limit as GitHub answers once the hour's requests are spent (X-RateLimit-Remaining 0,
// X-RateLimit-Reset a second ahead, no Retry-After). Faults counts them.
func (s *Server) FailRandomly(rng *rand.Rand, fraction float64) {
	s.lock()
	s.faults = &randomFaults{rng: rng, fraction: fraction}
	s.mu.Unlock()
}

// Faults counts the errors FailRandomly injected: 500s and rate limits.
func (s *Server) Faults() (serverErrors, rateLimits int) {
	s.lock()
	defer s.mu.Unlock()
	if s.faults == nil {
		return 0, 0
	}
	return s.faults.serverErrors, s.faults.rateLimits
}

// randomFault is the status a random fault answers this request with, 0 for none; s.mu is held.
func (s *Server) randomFault() int {
	f := s.faults
	if f == nil || f.rng.Float64() >= f.fraction {
		return 0
	}
	if f.rng.IntN(2) == 0 {
		f.serverErrors++
		return http.StatusInternalServerError
	}
	f.rateLimits++
	return http.StatusForbidden
}

// SetLatency makes every answer wait d first, as a distant or loaded GitHub does (load tests).
func (s *Server) SetLatency(d time.Duration) { s.lock(); s.latency = d; s.mu.Unlock() }

// New starts the fake; it stops when the test ends.
func New(t testing.TB) *Server {
	s := Start()
	t.Cleanup(s.Close)
	return s
}

// Start starts the fake outside a test (benchmarks); Close stops it.
func Start() *Server { return StartAt("") }

// StartAt serves the API under prefix, as GitHub Enterprise does under /api/v3.
func StartAt(prefix string) *Server {
	s := &Server{BotLogin: "prowl-bot", tokens: map[string]bool{}, members: map[string]map[string]bool{},
		collaborators: map[string]map[string]bool{}, pulls: map[string]*PullRequest{}, labels: map[string][]string{},
		statuses: map[string][]Status{}, remaining: 5000, installations: map[string]int64{}, issued: map[string]time.Time{}, tokenTTL: time.Hour,
		webURL: "https://github.com"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/{org}/{repo}/pulls/{n}", s.getPull)
	mux.HandleFunc("GET /repos/{org}/{repo}/pulls/{n}/files", s.pullFiles)
	mux.HandleFunc("GET /orgs/{org}/members/{user}", s.isMember)
	mux.HandleFunc("GET /repos/{org}/{repo}/collaborators/{user}", s.isCollaborator)
	mux.HandleFunc("GET /repos/{org}/{repo}/issues/{n}/comments", s.listComments)
	mux.HandleFunc("POST /repos/{org}/{repo}/issues/{n}/comments", s.createComment)
	mux.HandleFunc("PATCH /repos/{org}/{repo}/issues/comments/{id}", s.editComment)
	mux.HandleFunc("DELETE /repos/{org}/{repo}/issues/comments/{id}", s.deleteComment)
	mux.HandleFunc("POST /repos/{org}/{repo}/issues/{n}/labels", s.addLabels)
	mux.HandleFunc("DELETE /repos/{org}/{repo}/issues/{n}/labels/{label}", s.removeLabel)
	mux.HandleFunc("POST /repos/{org}/{repo}/statuses/{sha}", s.createStatus)
	mux.HandleFunc("GET /orgs/{org}/installation", s.installation)
	mux.HandleFunc("GET /users/{org}/installation", s.installation)
	mux.HandleFunc("POST /app/installations/{id}/access_tokens", s.accessToken)
	s.routePeople(mux)
	h := s.middleware(mux)
	if prefix != "" {
		h = http.StripPrefix(strings.TrimSuffix(prefix, "/"), h)
	}
	s.srv = httptest.NewServer(h)
	s.URL = s.srv.URL + strings.TrimSuffix(prefix, "/") + "/"
	return s
}

// Close stops the fake.
func (s *Server) Close() { s.srv.Close() }

// SetWebURL makes the html_url fields of pull requests, repositories and users point at base
// (as GitHub Enterprise's web host, https://ghe.example.com) instead of https://github.com.
func (s *Server) SetWebURL(base string) {
	s.lock()
	s.webURL = strings.TrimSuffix(base, "/")
	s.mu.Unlock()
}

// AddToken makes a personal access token valid.
func (s *Server) AddToken(token string) { s.lock(); s.tokens[token] = true; s.mu.Unlock() }

// AddMember makes user a member of org.
func (s *Server) AddMember(org, user string) {
	s.lock()
	defer s.mu.Unlock()
	if s.members[org] == nil {
		s.members[org] = map[string]bool{}
	}
	s.members[org][user] = true
}

// AddCollaborator makes user a collaborator of org/repo.
func (s *Server) AddCollaborator(orgRepo, user string) {
	s.lock()
	defer s.mu.Unlock()
	if s.collaborators[orgRepo] == nil {
		s.collaborators[orgRepo] = map[string]bool{}
	}
	s.collaborators[orgRepo][user] = true
}

// SetPullRequest adds or replaces a pull request of org/repo.
func (s *Server) SetPullRequest(orgRepo string, pr PullRequest) {
	s.lock()
	defer s.mu.Unlock()
	if pr.State == "" {
		pr.State = "open"
	}
	s.pulls[fmt.Sprintf("%s#%d", orgRepo, pr.Number)] = &pr
}

// SetLabels sets an issue's labels.
func (s *Server) SetLabels(orgRepo string, number int, labels ...string) {
	s.lock()
	defer s.mu.Unlock()
	s.labels[fmt.Sprintf("%s#%d", orgRepo, number)] = labels
}

// Labels are an issue's labels.
func (s *Server) Labels(orgRepo string, number int) []string {
	s.lock()
	defer s.mu.Unlock()
	return slices.Clone(s.labels[fmt.Sprintf("%s#%d", orgRepo, number)])
}

// Comments are an issue's comments, oldest first.
func (s *Server) Comments(orgRepo string, number int) []Comment {
	s.lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.comments {
		if c.Repo == orgRepo && c.Number == number {
			out = append(out, *c)
		}
	}
	return out
}

// Statuses are the statuses posted on org/repo, in order.
func (s *Server) Statuses(orgRepo string) []Status {
	s.lock()
	defer s.mu.Unlock()
	return slices.Clone(s.statuses[orgRepo])
}

// Calls are the requests answered, in order.
func (s *Server) Calls() []Call {
	s.lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// FailNext answers the next len(codes) requests with these status codes.
func (s *Server) FailNext(codes ...int) {
	s.lock()
	s.failNext = append(s.failNext, codes...)
	s.mu.Unlock()
}

// FailNextOn answers the next len(codes) requests of method to path (as the API sees it:
// /repos/org/repo/issues/7/comments) with these status codes.
func (s *Server) FailNextOn(method, path string, codes ...int) {
	s.lock()
	if s.failOn == nil {
		s.failOn = map[string][]int{}
	}
	s.failOn[method+" "+path] = append(s.failOn[method+" "+path], codes...)
	s.mu.Unlock()
}

// RateLimitNext answers the next n requests 403 with Retry-After: 1 and no requests remaining.
func (s *Server) RateLimitNext(n int) { s.lock(); s.rateLimited += n; s.mu.Unlock() }

// RateRemaining is X-RateLimit-Remaining now: 304s do not spend it.
func (s *Server) RateRemaining() int { s.lock(); defer s.mu.Unlock(); return s.remaining }

// SetApp makes the fake accept a GitHub App's JWTs, signed by key, installed for owners.
func (s *Server) SetApp(appID string, key *rsa.PublicKey, tokenTTL time.Duration, owners ...string) {
	s.lock()
	defer s.mu.Unlock()
	s.appID, s.appKey, s.tokenTTL = appID, key, tokenTTL
	for i, o := range owners {
		s.installations[o] = int64(1000 + i)
	}
}

// TokensIssued counts installation tokens made.
func (s *Server) TokensIssued() int { s.lock(); defer s.mu.Unlock(); return s.tokensIssued }

func (s *Server) lock() { s.mu.Lock() }

// recorder captures the status a handler answers.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			s.lock()
			s.calls = append(s.calls, Call{Method: r.Method, Path: r.URL.Path, Status: rec.status})
			s.mu.Unlock()
		}()
		s.lock()
		if d := s.latency; d > 0 {
			s.mu.Unlock()
			time.Sleep(d) // the fake's own slowness, not a wait of a test's
			s.lock()
		}
		reset := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Reset", reset)
		w.Header().Set("X-GitHub-Media-Type", "github.v3; format=json")
		key := r.Method + " " + r.URL.Path
		if codes := s.failOn[key]; len(codes) > 0 {
			s.failOn[key] = codes[1:]
			w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(s.remaining))
			s.mu.Unlock()
			writeError(rec, codes[0], "injected failure")
			return
		}
		if len(s.failNext) > 0 {
			code := s.failNext[0]
			s.failNext = s.failNext[1:]
			w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(s.remaining))
			s.mu.Unlock()
			writeError(rec, code, "injected failure")
			return
		}
		switch s.randomFault() {
		case http.StatusInternalServerError:
			w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(s.remaining))
			s.mu.Unlock()
			writeError(rec, http.StatusInternalServerError, "injected failure")
			return
		case http.StatusForbidden:
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10))
			s.mu.Unlock()
			writeError(rec, http.StatusForbidden, "API rate limit exceeded for user ID 1.")
			return
		}
		if s.rateLimited > 0 {
			s.rateLimited--
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("Retry-After", "1")
			s.mu.Unlock()
			writeError(rec, http.StatusForbidden, "API rate limit exceeded")
			return
		}
		s.mu.Unlock()
		if !s.authorized(r) {
			writeError(rec, http.StatusUnauthorized, "Bad credentials")
			return
		}
		next.ServeHTTP(rec, r)
	})
}

// authorized accepts a known token, an installation token not yet expired, or the App's JWT on
// the App's own endpoints.
func (s *Server) authorized(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	_, token, _ := strings.Cut(auth, " ")
	s.lock()
	defer s.mu.Unlock()
	if s.tokens[token] {
		return true
	}
	if exp, ok := s.issued[token]; ok {
		return time.Now().Before(exp)
	}
	if s.appKey != nil && (strings.HasPrefix(r.URL.Path, "/app/") || strings.HasSuffix(r.URL.Path, "/installation")) {
		claims := &jwt.RegisteredClaims{}
		parsed, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return s.appKey, nil }, jwt.WithValidMethods([]string{"RS256"}))
		return err == nil && parsed.Valid && claims.Issuer == s.appID
	}
	return false
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

// writeJSON answers a GET with an ETag, and 304 when the client already has it (not spending the
// rate limit); other answers spend one request.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	s.lock()
	if r.Method == http.MethodGet && r.Header.Get("If-None-Match") == etag {
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(s.remaining))
		s.mu.Unlock()
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.remaining--
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(s.remaining))
	s.mu.Unlock()
	if r.Method == http.MethodGet {
		w.Header().Set("ETag", etag)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func (s *Server) noContent(w http.ResponseWriter, code int) {
	s.lock()
	s.remaining--
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(s.remaining))
	s.mu.Unlock()
	w.WriteHeader(code)
}

func user(login string) map[string]any {
	return map[string]any{"login": login, "id": len(login), "type": "User"}
}

func (s *Server) pull(r *http.Request) (*PullRequest, string, bool) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	orgRepo := r.PathValue("org") + "/" + r.PathValue("repo")
	s.lock()
	defer s.mu.Unlock()
	pr, ok := s.pulls[fmt.Sprintf("%s#%d", orgRepo, n)]
	if !ok {
		return nil, orgRepo, false
	}
	cp := *pr
	return &cp, orgRepo, true
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request) {
	pr, orgRepo, ok := s.pull(r)
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	labels := []map[string]any{}
	for _, l := range s.Labels(orgRepo, pr.Number) {
		labels = append(labels, map[string]any{"name": l})
	}
	org, repo := r.PathValue("org"), r.PathValue("repo")
	s.lock()
	web := s.webURL
	s.mu.Unlock()
	repoJSON := map[string]any{"name": repo, "full_name": orgRepo, "owner": user(org), "html_url": web + "/" + orgRepo}
	author := user(pr.Author)
	author["html_url"] = web + "/" + pr.Author
	s.writeJSON(w, r, http.StatusOK, map[string]any{
		"number": pr.Number, "state": pr.State, "draft": pr.Draft, "title": fmt.Sprintf("Pull request %d", pr.Number),
		"user": author, "labels": labels, "html_url": fmt.Sprintf("%s/%s/pull/%d", web, orgRepo, pr.Number),
		"head": map[string]any{"sha": pr.HeadSHA, "ref": pr.HeadRef, "repo": repoJSON},
		"base": map[string]any{"sha": pr.BaseSHA, "ref": pr.BaseRef, "repo": repoJSON},
	})
}

// pullFiles pages by per_page and page, with a Link header, as GitHub does.
func (s *Server) pullFiles(w http.ResponseWriter, r *http.Request) {
	pr, _, ok := s.pull(r)
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if per <= 0 {
		per = 30
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	start := min((page-1)*per, len(pr.Files))
	end := min(start+per, len(pr.Files))
	files := []map[string]any{}
	for _, f := range pr.Files[start:end] {
		files = append(files, map[string]any{"filename": f, "status": "modified", "sha": "0"})
	}
	if end < len(pr.Files) {
		next := *r.URL
		q := next.Query()
		q.Set("page", strconv.Itoa(page+1))
		next.RawQuery = q.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, strings.TrimSuffix(s.URL, "/"), next.RequestURI()))
	}
	s.writeJSON(w, r, http.StatusOK, files)
}

func (s *Server) isMember(w http.ResponseWriter, r *http.Request) {
	s.lock()
	ok := s.members[r.PathValue("org")][r.PathValue("user")]
	s.mu.Unlock()
	if ok {
		s.noContent(w, http.StatusNoContent)
		return
	}
	s.noContent(w, http.StatusNotFound)
}

func (s *Server) isCollaborator(w http.ResponseWriter, r *http.Request) {
	s.lock()
	ok := s.collaborators[r.PathValue("org")+"/"+r.PathValue("repo")][r.PathValue("user")]
	s.mu.Unlock()
	if ok {
		s.noContent(w, http.StatusNoContent)
		return
	}
	s.noContent(w, http.StatusNotFound)
}

func commentJSON(c *Comment) map[string]any {
	return map[string]any{"id": c.ID, "body": c.Body, "user": user(c.User),
		"html_url": fmt.Sprintf("https://github.com/%s/pull/%d#issuecomment-%d", c.Repo, c.Number, c.ID)}
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	out := []map[string]any{}
	for _, c := range s.Comments(r.PathValue("org")+"/"+r.PathValue("repo"), n) {
		out = append(out, commentJSON(&c))
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

func readBody(r *http.Request, v any) error {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Body string `json:"body"`
	}
	if err := readBody(r, &in); err != nil || in.Body == "" {
		writeError(w, http.StatusUnprocessableEntity, "body is required")
		return
	}
	n, _ := strconv.Atoi(r.PathValue("n"))
	s.lock()
	s.nextID++
	c := &Comment{ID: s.nextID, Number: n, Repo: r.PathValue("org") + "/" + r.PathValue("repo"), User: s.BotLogin, Body: in.Body}
	s.comments = append(s.comments, c)
	s.mu.Unlock()
	s.writeJSON(w, r, http.StatusCreated, commentJSON(c))
}

func (s *Server) findComment(r *http.Request) (int, bool) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	for i, c := range s.comments {
		if c.ID == id && c.Repo == r.PathValue("org")+"/"+r.PathValue("repo") {
			return i, true
		}
	}
	return 0, false
}

func (s *Server) editComment(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Body string `json:"body"`
	}
	if err := readBody(r, &in); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	s.lock()
	i, ok := s.findComment(r)
	var c Comment
	if ok {
		s.comments[i].Body = in.Body
		c = *s.comments[i]
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	s.writeJSON(w, r, http.StatusOK, commentJSON(&c))
}

func (s *Server) deleteComment(w http.ResponseWriter, r *http.Request) {
	s.lock()
	i, ok := s.findComment(r)
	if ok {
		s.comments = slices.Delete(s.comments, i, i+1)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	s.noContent(w, http.StatusNoContent)
}

func (s *Server) addLabels(w http.ResponseWriter, r *http.Request) {
	var in []string
	if err := readBody(r, &in); err != nil {
		var obj struct {
			Labels []string `json:"labels"`
		}
		if err := readBody(r, &obj); err != nil {
			writeError(w, http.StatusUnprocessableEntity, "labels are required")
			return
		}
		in = obj.Labels
	}
	n, _ := strconv.Atoi(r.PathValue("n"))
	key := fmt.Sprintf("%s/%s#%d", r.PathValue("org"), r.PathValue("repo"), n)
	s.lock()
	for _, l := range in {
		if !slices.Contains(s.labels[key], l) {
			s.labels[key] = append(s.labels[key], l)
		}
	}
	out := []map[string]any{}
	for _, l := range s.labels[key] {
		out = append(out, map[string]any{"name": l})
	}
	s.mu.Unlock()
	s.writeJSON(w, r, http.StatusOK, out)
}

func (s *Server) removeLabel(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	key := fmt.Sprintf("%s/%s#%d", r.PathValue("org"), r.PathValue("repo"), n)
	label := r.PathValue("label")
	s.lock()
	i := slices.Index(s.labels[key], label)
	if i >= 0 {
		s.labels[key] = slices.Delete(s.labels[key], i, i+1)
	}
	out := []map[string]any{}
	for _, l := range s.labels[key] {
		out = append(out, map[string]any{"name": l})
	}
	s.mu.Unlock()
	if i < 0 {
		writeError(w, http.StatusNotFound, "Label does not exist")
		return
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

func (s *Server) createStatus(w http.ResponseWriter, r *http.Request) {
	var in struct {
		State       string `json:"state"`
		TargetURL   string `json:"target_url"`
		Description string `json:"description"`
		Context     string `json:"context"`
	}
	if err := readBody(r, &in); err != nil || !slices.Contains([]string{"error", "failure", "pending", "success"}, in.State) {
		writeError(w, http.StatusUnprocessableEntity, "state must be one of error, failure, pending, success")
		return
	}
	if len(in.Description) > 140 {
		writeError(w, http.StatusUnprocessableEntity, "description is too long (maximum is 140 characters)")
		return
	}
	st := Status{SHA: r.PathValue("sha"), State: in.State, TargetURL: in.TargetURL, Description: in.Description, Context: in.Context}
	orgRepo := r.PathValue("org") + "/" + r.PathValue("repo")
	s.lock()
	s.statuses[orgRepo] = append(s.statuses[orgRepo], st)
	s.mu.Unlock()
	s.writeJSON(w, r, http.StatusCreated, map[string]any{"state": st.State, "context": st.Context, "description": st.Description, "target_url": st.TargetURL})
}

func (s *Server) installation(w http.ResponseWriter, r *http.Request) {
	s.lock()
	id, ok := s.installations[r.PathValue("org")]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"id": id, "app_id": s.appID, "account": user(r.PathValue("org"))})
}

func (s *Server) accessToken(w http.ResponseWriter, r *http.Request) {
	s.lock()
	s.tokensIssued++
	token := fmt.Sprintf("ghs_installation_%s_%d", r.PathValue("id"), s.tokensIssued)
	exp := time.Now().Add(s.tokenTTL)
	s.issued[token] = exp
	s.mu.Unlock()
	s.writeJSON(w, r, http.StatusCreated, map[string]any{"token": token, "expires_at": exp.UTC().Format(time.RFC3339)})
}
