package deck

import (
	"fmt"
	"net/http"
	"strings"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/deck/auth"
)

// decision is whether a request may rerun or abort a job, who asked, and if not, why and with
// which status.
type decision struct {
	allowed bool
	user    string
	code    int
	why     string
}

// deckRerunAuth is the config-level rule for the job, from deck.rerun_auth_configs or
// deck.default_rerun_auth_configs.
func (s *Server) deckRerunAuth(spec *prowv1.ProwJobSpec) (*prowv1.RerunAuthConfig, error) {
	d, err := s.deckConfig()
	if err != nil {
		return nil, err
	}
	return d.RerunAuthConfig(spec), nil
}

// parsedDeck is the deck section of one config, decoded once.
type parsedDeck struct {
	cfg  *config.Config
	deck *config.Deck
	err  error
}

// deckConfig is the deck section of the config in force, decoded once per config.
func (s *Server) deckConfig() (*config.Deck, error) {
	cfg := s.o.Config()
	if p := s.deck.Load(); p != nil && p.cfg == cfg {
		return p.deck, p.err
	}
	d, err := cfg.DeckConfig()
	s.deck.Store(&parsedDeck{cfg: cfg, deck: d, err: err})
	return d, err
}

// authorize decides as Prow's Deck does: allow_anyone (the deck config's or the job's) lets
// anyone; otherwise the user must be logged in with GitHub, and be allowed by the deck config's
// rule or the job's own rerun_auth_config (github_users, github_orgs, github_team_ids,
// github_team_slugs), or, for a presubmit of a pull request, be trusted by the trigger plugin.
// In local mode a request from this machine may, without login.
func (s *Server) authorize(r *http.Request, pj *prowv1.ProwJob) decision {
	cfgAuth, err := s.deckRerunAuth(&pj.Spec)
	if err != nil {
		return decision{code: http.StatusInternalServerError, why: err.Error()}
	}
	if allowAnyone(pj.Spec.RerunAuthConfig) || allowAnyone(cfgAuth) {
		return decision{allowed: true, user: auth.Login(r)}
	}
	if s.localUser(r) {
		return decision{allowed: true, user: auth.Login(r)}
	}
	if !s.auth.LoginEnabled() {
		return decision{code: http.StatusInternalServerError, why: "GitHub oauth must be configured to rerun jobs unless 'allow_anyone: true' is specified."}
	}
	user := auth.Login(r)
	if user == "" {
		return decision{code: http.StatusUnauthorized, why: "Log in with GitHub to rerun or abort this job."}
	}
	ok, err := s.canTrigger(r, user, pj, cfgAuth)
	if err != nil {
		return decision{user: user, code: http.StatusInternalServerError, why: "Could not verify if allowed: " + err.Error()}
	}
	if !ok {
		return decision{user: user, code: http.StatusForbidden, why: fmt.Sprintf("%s may not rerun or abort %s: not allowed by deck.rerun_auth_configs nor by the job's rerun_auth_config.", user, pj.Spec.Job)}
	}
	return decision{allowed: true, user: user}
}

// canTrigger is Prow's canTriggerJob: the config's rule, then the job's, then for a presubmit of
// a pull request, the trigger plugin's trust.
func (s *Server) canTrigger(r *http.Request, user string, pj *prowv1.ProwJob, cfgAuth *prowv1.RerunAuthConfig) (bool, error) {
	var org string
	if pj.Spec.Refs != nil {
		org = pj.Spec.Refs.Org
	} else if len(pj.Spec.ExtraRefs) > 0 {
		org = pj.Spec.ExtraRefs[0].Org
	}
	for _, rac := range []*prowv1.RerunAuthConfig{cfgAuth, pj.Spec.RerunAuthConfig} {
		ok, err := s.authorizedBy(r, rac, org, user)
		if err != nil || ok {
			return ok, err
		}
	}
	if s.o.GitHub == nil {
		return false, nil
	}
	if pj.Spec.Type == prowv1.PresubmitJob && pj.Spec.Refs != nil && len(pj.Spec.Refs.Pulls) > 0 && s.o.Trust != nil {
		refs := pj.Spec.Refs
		return s.o.Trust.TrustedRerun(r.Context(), refs.Org, refs.Repo, refs.Pulls[0].Number, user)
	}
	return false, nil
}

// authorizedBy is Prow's RerunAuthConfig.IsAuthorized: allow_anyone, a listed user (logins
// compare without case or @), a member of a listed org, of a team by ID (in the job's org) or by
// slug. Without a GitHub client only users are checked.
func (s *Server) authorizedBy(r *http.Request, rac *prowv1.RerunAuthConfig, org, user string) (bool, error) {
	if rac == nil {
		return false, nil
	}
	if rac.AllowAnyone {
		return true, nil
	}
	for _, u := range rac.GitHubUsers {
		if normLogin(u) == normLogin(user) {
			return true, nil
		}
	}
	gh := s.o.GitHub
	if gh == nil {
		return false, nil
	}
	ctx := r.Context()
	for _, o := range rac.GitHubOrgs {
		ok, err := gh.IsMember(ctx, o, user)
		if err != nil {
			return false, fmt.Errorf("GitHub failed to fetch members of org %v: %w", o, err)
		}
		if ok {
			return true, nil
		}
	}
	for _, id := range rac.GitHubTeamIDs {
		ok, err := gh.TeamMemberByID(ctx, org, int64(id), user)
		if err != nil {
			return false, fmt.Errorf("GitHub failed to fetch members of team %v, verify that you have the correct team number and access token: %w", id, err)
		}
		if ok {
			return true, nil
		}
	}
	for _, t := range rac.GitHubTeamSlugs {
		ok, err := gh.TeamMemberBySlug(ctx, t.Org, t.Slug, user)
		if err != nil {
			return false, fmt.Errorf("GitHub failed to check if team with slug %s has member %s: %w", t.Slug, user, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

func normLogin(l string) string {
	return strings.TrimPrefix(strings.ToLower(strings.TrimSpace(l)), "@")
}

func allowAnyone(rac *prowv1.RerunAuthConfig) bool { return rac != nil && rac.AllowAnyone }
