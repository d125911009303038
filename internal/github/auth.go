package github

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"k8s.io/utils/clock"
)

// tokenAuth sends a personal access token.
type tokenAuth struct {
	next  http.RoundTripper
	token string
}

func (t *tokenAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(req)
}

// appAuth authenticates as a GitHub App: the App's own endpoints (/app/...) with a JWT signed by
// its private key, and everything else with the installation token of the org or user the request
// is about, found through /orgs/{org}/installation (or /users/{user}/installation) and refreshed
// refreshBefore its expiry.
type appAuth struct {
	next          http.RoundTripper // below auth: retries, then the network
	base          *url.URL
	appID         string
	key           *rsa.PrivateKey
	clock         clock.PassiveClock
	refreshBefore time.Duration

	mu     sync.Mutex
	tokens map[string]installationToken // by org
}

type installationToken struct {
	token   string
	expires time.Time
}

func (a *appAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	path := strings.TrimPrefix(req.URL.Path, strings.TrimSuffix(a.base.Path, "/"))
	var auth string
	if owner := ownerOf(path); owner != "" && !strings.HasPrefix(path, "/app/") {
		token, err := a.installationToken(req.Context(), owner)
		if err != nil {
			return nil, err
		}
		auth = "token " + token
	} else {
		jwt, err := a.jwt()
		if err != nil {
			return nil, err
		}
		auth = "Bearer " + jwt
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", auth)
	return a.next.RoundTrip(req)
}

// ownerOf is the org or user a REST path is about: /repos/{owner}/..., /orgs/{org}/...,
// /users/{user}/....
func ownerOf(path string) string {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) >= 2 && (parts[0] == "repos" || parts[0] == "orgs" || parts[0] == "users") {
		return parts[1]
	}
	return ""
}

func (a *appAuth) jwt() (string, error) {
	now := a.clock.Now()
	claims := jwt.RegisteredClaims{
		Issuer:    a.appID,
		IssuedAt:  jwt.NewNumericDate(now.Add(-time.Minute)), // GitHub allows for clock drift
		ExpiresAt: jwt.NewNumericDate(now.Add(9 * time.Minute)),
	}
	return jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(a.key)
}

func (a *appAuth) installationToken(ctx context.Context, owner string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.tokens[owner]; ok && a.clock.Now().Add(a.refreshBefore).Before(t.expires) {
		return t.token, nil
	}
	var inst struct {
		ID int64 `json:"id"`
	}
	err := a.call(ctx, http.MethodGet, "orgs/"+owner+"/installation", &inst)
	if err != nil {
		if err2 := a.call(ctx, http.MethodGet, "users/"+owner+"/installation", &inst); err2 != nil {
			return "", fmt.Errorf("GitHub App %s is not installed for %s: %w", a.appID, owner, err)
		}
	}
	var tok struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := a.call(ctx, http.MethodPost, fmt.Sprintf("app/installations/%d/access_tokens", inst.ID), &tok); err != nil {
		return "", fmt.Errorf("installation token for %s: %w", owner, err)
	}
	if a.tokens == nil {
		a.tokens = map[string]installationToken{}
	}
	a.tokens[owner] = installationToken{token: tok.Token, expires: tok.ExpiresAt}
	return tok.Token, nil
}

// call makes one request as the App itself (JWT).
func (a *appAuth) call(ctx context.Context, method, path string, out any) error {
	u := a.base.ResolveReference(&url.URL{Path: path})
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return err
	}
	token, err := a.jwt()
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	resp, err := a.next.RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", method, u.Path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
