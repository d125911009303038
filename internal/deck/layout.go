package deck

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/deck/auth"
)

//go:embed static templates
var assets embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"stateClass": func(s string) string { return "state-" + s },
}).ParseFS(assets, "templates/*.html"))

// staticVersion is a hash of the static files, appended to their URLs so that browsers may cache
// them for a year and still see a new Deck's files at once.
var staticVersion = func() string {
	h := sha256.New()
	_ = fs.WalkDir(assets, "static", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := assets.ReadFile(p)
			h.Write([]byte(p))
			h.Write(b)
		}
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}()

// staticHandler serves the embedded static files with long cache headers (their URLs carry
// staticVersion).
func staticHandler() http.Handler {
	sub, _ := fs.Sub(assets, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		files.ServeHTTP(w, r)
	})
}

type pageData struct {
	Title        string
	Body         template.HTML
	Version      string
	Login        string
	CSRF         string
	Local        bool
	LoginEnabled bool
	Dest         string
}

// Page writes a whole HTML page in Deck's look around body: header, navigation, login state,
// /static/prowl.css and /static/deck.js. title is escaped; body is trusted HTML the caller made
// with html/template. Spyglass renders its pages through it.
func (s *Server) Page(w http.ResponseWriter, r *http.Request, title string, body template.HTML) {
	s.pageStatus(w, r, http.StatusOK, title, body)
}

func (s *Server) pageStatus(w http.ResponseWriter, r *http.Request, code int, title string, body template.HTML) {
	d := pageData{Title: title, Body: body, Version: staticVersion, Login: auth.Login(r), CSRF: auth.CSRFToken(r),
		Local: s.localUser(r), LoginEnabled: s.auth.LoginEnabled(), Dest: r.URL.RequestURI()}
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, "layout", d); err != nil {
		http.Error(w, "render page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// render executes a body template into HTML for Page.
func render(name string, data any) (template.HTML, error) {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, data); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil // #nosec G203 -- produced by html/template, which escaped it
}

// localUser says whether the request is from the person at this machine in local mode: Local is
// set and the request came over loopback.
func (s *Server) localUser(r *http.Request) bool {
	if !s.o.Local {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// runURL is where a job's row links: its status.url, else the run page by name.
func runURL(pj *prowv1.ProwJob) string {
	if pj.Status.URL != "" {
		return pj.Status.URL
	}
	return "/view/prowjob/" + url.PathEscape(pj.Name)
}

// message writes a page saying msg (escaped), with a link back, with status code.
func (s *Server) message(w http.ResponseWriter, r *http.Request, code int, title, msg, back string) {
	body, err := render("message", map[string]string{"Title": title, "Message": msg, "Back": back})
	if err != nil {
		http.Error(w, msg, code)
		return
	}
	s.pageStatus(w, r, code, title, body)
}
