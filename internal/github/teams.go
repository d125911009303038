package github

import (
	"context"
	"fmt"
	"net/http"

	gh "github.com/google/go-github/v82/github"
)

// TeamMemberBySlug says whether user is an active member of org's team slug (Deck's
// rerun_auth_config github_team_slugs). A team or membership GitHub does not know is false.
func (c *Client) TeamMemberBySlug(ctx context.Context, org, slug, user string) (bool, error) {
	m, resp, err := c.gh.Teams.GetTeamMembershipBySlug(ctx, org, slug, user)
	return activeMembership(m, resp, err)
}

// TeamMemberByID says whether user is an active member of team teamID in org (Deck's
// rerun_auth_config github_team_ids); GitHub addresses the team by org ID, looked up first.
func (c *Client) TeamMemberByID(ctx context.Context, org string, teamID int64, user string) (bool, error) {
	o, _, err := c.gh.Organizations.Get(ctx, org)
	if err != nil {
		return false, fmt.Errorf("get org %s: %w", org, err)
	}
	m, resp, err := c.gh.Teams.GetTeamMembershipByID(ctx, o.GetID(), teamID, user)
	return activeMembership(m, resp, err)
}

func activeMembership(m *gh.Membership, resp *gh.Response, err error) (bool, error) {
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return m.GetState() == "active", nil
}
