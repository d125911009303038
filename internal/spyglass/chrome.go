package spyglass

import (
	"html/template"
	"net/http"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// PlainChrome is a page without Deck around it: no navigation, no authorisation, no actions.
// It serves spyglass standalone and in tests.
type PlainChrome struct{}

var plainPage = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} - Prowl</title></head>
<body class="sg-plain"><header class="sg-topbar"><a href="/">Prowl</a></header><main>{{.Body}}</main></body></html>
`))

// Page writes a minimal HTML page around body.
func (PlainChrome) Page(w http.ResponseWriter, _ *http.Request, title string, body template.HTML) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = plainPage.Execute(w, map[string]any{"Title": title, "Body": body})
}

// Actions offers nothing: without Deck there is no one to authorise.
func (PlainChrome) Actions(*http.Request, *prowv1.ProwJob) template.HTML { return "" }
