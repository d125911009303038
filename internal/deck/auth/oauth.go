package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	gh "github.com/google/go-github/v82/github"
	"golang.org/x/oauth2"
)

func (a *Auth) oauth2() *oauth2.Config {
	base := strings.TrimSuffix(a.o.GitHubURL, "/")
	return &oauth2.Config{
		ClientID: a.o.OAuth.ClientID, ClientSecret: a.o.OAuth.ClientSecret,
		RedirectURL: a.o.OAuth.RedirectURL, Scopes: a.o.OAuth.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: base + "/login/oauth/authorize", TokenURL: base + "/login/oauth/access_token", AuthStyle: oauth2.AuthStyleInParams},
	}
}

// localPath is dest when it is a path on this site, else "/": a login never sends the browser
// elsewhere.
func localPath(dest string) string {
	if !strings.HasPrefix(dest, "/") || strings.HasPrefix(dest, "//") || strings.HasPrefix(dest, "/\\") {
		return "/"
	}
	return dest
}

func (a *Auth) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: a.o.Secure, SameSite: http.SameSiteLaxMode})
}

// HandleLogin (GET /github-login?dest=PATH) starts a GitHub login: a random state in a signed
// cookie, and a redirect to GitHub's authorize page.
func (a *Auth) HandleLogin(w http.ResponseWriter, r *http.Request) {
	if a.o.OAuth == nil {
		http.Error(w, "GitHub login is not configured: start Deck with --github-oauth-config-file and --cookie-secret", http.StatusNotFound)
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	st := hex.EncodeToString(b)
	dest := localPath(r.URL.Query().Get("dest"))
	a.setCookie(w, stateCookie, a.signer.sign("state", st+" "+dest, stateTTL), int(stateTTL.Seconds()))
	http.Redirect(w, r, a.oauth2().AuthCodeURL(st, oauth2.AccessTypeOnline), http.StatusFound)
}

// HandleRedirect (GET /github-login/redirect?code=&state=) finishes a login: the state must be
// the one in the cookie; the code is exchanged for a token, GitHub names its user, and the
// session cookie says so. The token itself is not kept.
func (a *Auth) HandleRedirect(w http.ResponseWriter, r *http.Request) {
	if a.o.OAuth == nil {
		http.Error(w, "GitHub login is not configured", http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		http.Error(w, fmt.Sprintf("GitHub did not log you in: %s %s", e, q.Get("error_description")), http.StatusForbidden)
		return
	}
	if q.Get("code") == "" || q.Get("state") == "" {
		http.Error(w, `parameters "code" and "state" are required: start the login at /github-login`, http.StatusBadRequest)
		return
	}
	c, err := r.Cookie(stateCookie)
	var saved string
	if err == nil {
		saved, err = a.signer.verify("state", c.Value)
	}
	st, dest, _ := strings.Cut(saved, " ")
	if err != nil || st != q.Get("state") {
		http.Error(w, "login state does not match (expired, or not started here): start again at /github-login", http.StatusForbidden)
		return
	}
	login, err := a.exchange(r.Context(), q.Get("code"))
	if err != nil {
		http.Error(w, "GitHub login failed: "+err.Error(), http.StatusBadGateway)
		return
	}
	a.setCookie(w, stateCookie, "", -1)
	a.setCookie(w, sessionCookie, a.signer.sign("session", login, SessionTTL), int(SessionTTL.Seconds()))
	http.Redirect(w, r, localPath(dest), http.StatusFound)
}

// exchange trades the code for a token and asks GitHub whose it is.
func (a *Auth) exchange(ctx context.Context, code string) (string, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, a.o.HTTPClient)
	tok, err := a.oauth2().Exchange(ctx, code)
	if err != nil {
		return "", fmt.Errorf("exchange the code: %w", err)
	}
	base, err := url.Parse(strings.TrimSuffix(a.o.GitHubAPI, "/") + "/")
	if err != nil {
		return "", err
	}
	c := gh.NewClient(oauth2.NewClient(ctx, oauth2.StaticTokenSource(tok)))
	c.BaseURL = base
	u, _, err := c.Users.Get(ctx, "")
	if err != nil {
		return "", fmt.Errorf("get the user: %w", err)
	}
	if u.GetLogin() == "" {
		return "", fmt.Errorf("GitHub named no user for the token")
	}
	return u.GetLogin(), nil
}

// HandleLogout (POST /github-logout) ends the session.
func (a *Auth) HandleLogout(w http.ResponseWriter, r *http.Request) {
	a.setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
