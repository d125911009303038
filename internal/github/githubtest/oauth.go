package githubtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

// OAuth is GitHub's web side for OAuth Apps (github.com/login/oauth/...), on a host of its own as
// on GitHub: the authorize page, where a person signs in as any login and approves, and the
// access-token exchange. Tokens it issues are valid on the API fake, whose GET /user answers with
// the login that approved.
type OAuth struct {
	URL          string
	ClientID     string
	ClientSecret string

	api *Server
	srv *httptest.Server

	mu    sync.Mutex
	codes map[string]string // code → login
	// Exchanges counts successful code exchanges.
	exchanges int
}

// NewOAuth starts the OAuth side of api for the OAuth App clientID/clientSecret; it stops when
// the test ends.
func NewOAuth(t testing.TB, api *Server, clientID, clientSecret string) *OAuth {
	o := &OAuth{ClientID: clientID, ClientSecret: clientSecret, api: api, codes: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", o.authorizePage)
	mux.HandleFunc("POST /login/oauth/authorize", o.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", o.accessToken)
	o.srv = httptest.NewServer(mux)
	o.URL = o.srv.URL
	t.Cleanup(o.srv.Close)
	return o
}

// Exchanges is how many codes were exchanged for tokens.
func (o *OAuth) Exchanges() int { o.mu.Lock(); defer o.mu.Unlock(); return o.exchanges }

var authorizeTmpl = template.Must(template.New("authorize").Parse(`<!doctype html>
<html><head><title>Authorize application</title></head><body>
<h1>Sign in to GitHub to continue</h1>
<form method="post" action="/login/oauth/authorize">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}">
<label>Username <input id="login_field" name="login" autofocus></label>
<button id="authorize" type="submit">Authorize</button>
</form></body></html>`))

func (o *OAuth) authorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != o.ClientID {
		http.Error(w, "unknown client_id", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = authorizeTmpl.Execute(w, map[string]string{"ClientID": q.Get("client_id"), "RedirectURI": q.Get("redirect_uri"), "State": q.Get("state")})
}

// authorize approves as the login typed and sends the browser back with a code and the state.
func (o *OAuth) authorize(w http.ResponseWriter, r *http.Request) {
	if r.FormValue("client_id") != o.ClientID {
		http.Error(w, "unknown client_id", http.StatusNotFound)
		return
	}
	login := r.FormValue("login")
	back, err := url.Parse(r.FormValue("redirect_uri"))
	if login == "" || err != nil || back.Scheme == "" {
		http.Error(w, "login and redirect_uri are required", http.StatusBadRequest)
		return
	}
	code := randomHex(10)
	o.mu.Lock()
	o.codes[code] = login
	o.mu.Unlock()
	q := back.Query()
	q.Set("code", code)
	q.Set("state", r.FormValue("state"))
	back.RawQuery = q.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// accessToken exchanges a code once, answering as GitHub does: JSON when asked for it, else a
// form; a bad code is a 200 with an error field.
func (o *OAuth) accessToken(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.FormValue("client_id"), r.FormValue("client_secret")
	}
	o.mu.Lock()
	login, known := o.codes[r.FormValue("code")]
	delete(o.codes, r.FormValue("code"))
	o.mu.Unlock()
	v := url.Values{}
	switch {
	case id != o.ClientID || secret != o.ClientSecret:
		v.Set("error", "incorrect_client_credentials")
		v.Set("error_description", "The client_id and/or client_secret passed are incorrect.")
	case !known:
		v.Set("error", "bad_verification_code")
		v.Set("error_description", "The code passed is incorrect or expired.")
	default:
		token := "gho_" + randomHex(18)
		o.api.AddUserToken(token, login)
		o.mu.Lock()
		o.exchanges++
		o.mu.Unlock()
		v.Set("access_token", token)
		v.Set("token_type", "bearer")
		v.Set("scope", "")
	}
	if r.Header.Get("Accept") == "application/json" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		out := map[string]string{}
		for k := range v {
			out[k] = v.Get(k)
		}
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	_, _ = w.Write([]byte(v.Encode()))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
