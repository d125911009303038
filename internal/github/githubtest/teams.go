package githubtest

import (
	"net/http"
	"strconv"
	"strings"
)

// people is the fake's state of users, org IDs and teams, for OAuth logins and rerun rules.
type people struct {
	tokenUser map[string]string               // token → login (GET /user)
	orgIDs    map[string]int64                // org → ID
	teams     map[string]map[string]*fakeTeam // org → slug → team
	teamByID  map[int64]*fakeTeam             // team ID → team
}

type fakeTeam struct {
	id      int64
	org     string
	slug    string
	members map[string]bool
}

func (p *people) init() {
	if p.tokenUser == nil {
		p.tokenUser, p.orgIDs = map[string]string{}, map[string]int64{}
		p.teams, p.teamByID = map[string]map[string]*fakeTeam{}, map[int64]*fakeTeam{}
	}
}

// AddUserToken makes token valid and the token of login, as an OAuth token is: GET /user answers
// with login.
func (s *Server) AddUserToken(token, login string) {
	s.lock()
	defer s.mu.Unlock()
	s.people.init()
	s.tokens[token] = true
	s.people.tokenUser[token] = login
}

// orgID is org's ID, made on first use.
func (s *Server) orgID(org string) int64 {
	s.people.init()
	id, ok := s.people.orgIDs[org]
	if !ok {
		id = int64(5000 + len(s.people.orgIDs))
		s.people.orgIDs[org] = id
	}
	return id
}

// AddTeamMember makes user a member of org's team slug, creating the team; it returns the team's ID.
func (s *Server) AddTeamMember(org, slug, user string) int64 {
	s.lock()
	defer s.mu.Unlock()
	s.people.init()
	s.orgID(org)
	if s.people.teams[org] == nil {
		s.people.teams[org] = map[string]*fakeTeam{}
	}
	t := s.people.teams[org][slug]
	if t == nil {
		t = &fakeTeam{id: int64(7000 + len(s.people.teamByID)), org: org, slug: slug, members: map[string]bool{}}
		s.people.teams[org][slug] = t
		s.people.teamByID[t.id] = t
	}
	t.members[user] = true
	return t.id
}

func (s *Server) routePeople(mux *http.ServeMux) {
	mux.HandleFunc("GET /user", s.authenticatedUser)
	mux.HandleFunc("GET /orgs/{org}", s.getOrg)
	mux.HandleFunc("GET /orgs/{org}/teams/{slug}/memberships/{user}", s.teamMembershipBySlug)
	mux.HandleFunc("GET /organizations/{orgid}/team/{teamid}/memberships/{user}", s.teamMembershipByID)
}

// authenticatedUser is GET /user: the user whose OAuth token made the request.
func (s *Server) authenticatedUser(w http.ResponseWriter, r *http.Request) {
	_, token, _ := cutAuth(r)
	s.lock()
	s.people.init()
	login, ok := s.people.tokenUser[token]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	s.writeJSON(w, r, http.StatusOK, user(login))
}

func (s *Server) getOrg(w http.ResponseWriter, r *http.Request) {
	s.lock()
	id := s.orgID(r.PathValue("org"))
	s.mu.Unlock()
	s.writeJSON(w, r, http.StatusOK, map[string]any{"login": r.PathValue("org"), "id": id, "type": "Organization"})
}

func (s *Server) teamMembershipBySlug(w http.ResponseWriter, r *http.Request) {
	s.lock()
	s.people.init()
	t := s.people.teams[r.PathValue("org")][r.PathValue("slug")]
	s.mu.Unlock()
	s.membership(w, r, t)
}

func (s *Server) teamMembershipByID(w http.ResponseWriter, r *http.Request) {
	orgID, err1 := strconv.ParseInt(r.PathValue("orgid"), 10, 64)
	teamID, err2 := strconv.ParseInt(r.PathValue("teamid"), 10, 64)
	s.lock()
	s.people.init()
	t := s.people.teamByID[teamID]
	if t != nil && (err1 != nil || err2 != nil || s.people.orgIDs[t.org] != orgID) {
		t = nil
	}
	s.mu.Unlock()
	s.membership(w, r, t)
}

// membership answers as GitHub does: 200 with the membership's role and state, or 404.
func (s *Server) membership(w http.ResponseWriter, r *http.Request, t *fakeTeam) {
	u := r.PathValue("user")
	s.lock()
	member := t != nil && t.members[u]
	s.mu.Unlock()
	if !member {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"url": s.URL + "teams/" + strconv.FormatInt(t.id, 10) + "/memberships/" + u, "role": "member", "state": "active"})
}

func cutAuth(r *http.Request) (scheme, token string, ok bool) {
	return strings.Cut(r.Header.Get("Authorization"), " ")
}
