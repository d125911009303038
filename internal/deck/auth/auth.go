package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"k8s.io/utils/clock"
	"sigs.k8s.io/yaml"
)

// Cookie names and lifetimes.
const (
	sessionCookie = "prowl_session"
	csrfCookie    = "prowl_csrf"
	stateCookie   = "prowl_oauth_state"
	SessionTTL    = 24 * time.Hour
	stateTTL      = 10 * time.Minute
	// CSRFField is the form field, and CSRFHeader the header, that carry the CSRF token.
	CSRFField  = "csrf_token"
	CSRFHeader = "X-CSRF-Token"
)

// OAuthConfig is Prow's GitHub OAuth config file (--github-oauth-config-file).
type OAuthConfig struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	RedirectURL  string   `json:"redirect_url"`
	Scopes       []string `json:"scopes,omitempty"`
}

// LoadOAuthConfig reads Prow's OAuth config file; client_id, client_secret and redirect_url are
// required, as in Prow.
func LoadOAuthConfig(path string) (*OAuthConfig, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--github-oauth-config-file: %w", err)
	}
	var c OAuthConfig
	if err := yaml.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("--github-oauth-config-file %s: %w", path, err)
	}
	if c.ClientID == "" || c.ClientSecret == "" || c.RedirectURL == "" {
		return nil, fmt.Errorf("--github-oauth-config-file %s: client_id, client_secret and redirect_url are all required", path)
	}
	return &c, nil
}

// LoadCookieSecret reads Prow's cookie secret file: base64 of (ideally) 32 bytes. A longer secret
// is hashed to 32 bytes, as Prow does; a shorter one is refused.
func LoadCookieSecret(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--cookie-secret: %w", err)
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("--cookie-secret %s: not base64: %w (make one with: openssl rand -base64 32)", path, err)
	}
	switch {
	case len(b) < 32:
		return nil, fmt.Errorf("--cookie-secret %s: %d bytes; it must be 32 (make one with: openssl rand -base64 32)", path, len(b))
	case len(b) > 32:
		sum := sha256.Sum256(b)
		b = sum[:]
	}
	return b, nil
}

// Options configure Auth.
type Options struct {
	// Secret signs cookies and CSRF tokens; a random one (sessions last until restart) when nil.
	Secret []byte
	// Secure marks cookies Secure (HTTPS only).
	Secure bool
	// OAuth enables GitHub login; nil leaves it off.
	OAuth *OAuthConfig
	// GitHubURL is GitHub's web host for OAuth (https://github.com); GitHubAPI the REST API
	// (https://api.github.com/) that names the user of a token.
	GitHubURL, GitHubAPI string
	// HTTPClient talks to GitHub; http.DefaultClient when nil.
	HTTPClient *http.Client
	Clock      clock.PassiveClock
}

// Auth holds the login sessions and CSRF protection.
type Auth struct {
	o      Options
	signer signer
}

// New makes an Auth.
func New(o Options) (*Auth, error) {
	if o.Secret == nil {
		o.Secret = make([]byte, 32)
		if _, err := rand.Read(o.Secret); err != nil {
			return nil, err
		}
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.GitHubURL == "" {
		o.GitHubURL = "https://github.com"
	}
	if o.GitHubAPI == "" {
		o.GitHubAPI = "https://api.github.com/"
	}
	return &Auth{o: o, signer: signer{key: o.Secret, now: o.Clock.Now}}, nil
}

// LoginEnabled says whether GitHub login is configured.
func (a *Auth) LoginEnabled() bool { return a.o.OAuth != nil }

type ctxKey struct{}

// reqState is what the middleware learned of a request.
type reqState struct {
	login string
	csrf  string
}

func state(r *http.Request) reqState {
	s, _ := r.Context().Value(ctxKey{}).(reqState)
	return s
}

// Login is the GitHub login of the request's session, or "".
func Login(r *http.Request) string { return state(r).login }

// CSRFToken is the token a form on the request's page must carry.
func CSRFToken(r *http.Request) string { return state(r).csrf }

func (a *Auth) csrfFor(cookieValue string) string {
	m := hmac.New(sha256.New, a.o.Secret)
	m.Write([]byte("csrf\x00" + cookieValue))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Middleware reads the session and makes sure the browser has a CSRF cookie, whose token
// CSRFToken gives to the page's forms.
func (a *Auth) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var st reqState
		if c, err := r.Cookie(sessionCookie); err == nil {
			st.login, _ = a.signer.verify("session", c.Value)
		}
		c, err := r.Cookie(csrfCookie)
		if err != nil || len(c.Value) < 32 {
			b := make([]byte, 24)
			_, _ = rand.Read(b)
			c = &http.Cookie{Name: csrfCookie, Value: hex.EncodeToString(b), Path: "/", HttpOnly: true, Secure: a.o.Secure, SameSite: http.SameSiteStrictMode}
			http.SetCookie(w, c)
		}
		st.csrf = a.csrfFor(c.Value)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, st)))
	})
}

// RequireCSRF refuses (403) a request other than GET, HEAD and OPTIONS whose CSRF token (form
// field csrf_token or header X-CSRF-Token) is missing or wrong. It runs inside Middleware.
func RequireCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			want := state(r).csrf
			got := r.Header.Get(CSRFHeader)
			if got == "" {
				got = r.PostFormValue(CSRFField)
			}
			if want == "" || got == "" || !hmac.Equal([]byte(got), []byte(want)) {
				http.Error(w, "CSRF token missing or wrong: reload the page and try again", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
