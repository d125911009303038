package spyglass

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed static templates
var files embed.FS

func parseTemplates() (*template.Template, error) {
	return template.New("spyglass").Funcs(template.FuncMap{
		"add": func(a, b int) int { return a + b },
		"short": func(s string) string {
			if len(s) > 10 {
				return s[:10]
			}
			return s
		},
	}).ParseFS(files, "templates/*.html")
}

// staticVersions are content hashes of the static files, for their URLs: a file's URL changes
// when it does, so browsers may keep it for a year.
var staticVersions = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	entries, _ := files.ReadDir("static")
	for _, e := range entries {
		data, _ := files.ReadFile("static/" + e.Name())
		sum := sha256.Sum256(data)
		out[e.Name()] = hex.EncodeToString(sum[:6])
	}
	return out
})

// staticURLs are the stylesheet and script URLs a page links.
func staticURLs() map[string]string {
	v := staticVersions()
	return map[string]string{
		"CSS": "/spyglass/static/spyglass.css?v=" + v["spyglass.css"],
		"JS":  "/spyglass/static/spyglass.js?v=" + v["spyglass.js"],
	}
}

// serveStatic serves an embedded file with an ETag; a versioned URL is immutable.
func serveStatic(w http.ResponseWriter, r *http.Request, name string) {
	if strings.Contains(name, "/") || name == "" {
		http.NotFound(w, r)
		return
	}
	data, err := files.ReadFile(path.Join("static", name))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	version := staticVersions()[name]
	w.Header().Set("ETag", `"`+version+`"`)
	if r.URL.Query().Get("v") == version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=300")
	}
	http.ServeContent(w, r, name, time.Time{}, strings.NewReader(string(data)))
}
