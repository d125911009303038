package spyglass

import (
	"context"
	"encoding/base64"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/prowl-ci/prowl/internal/storage"
)

// The artifacts lens and its pages: one directory level at a time (a delimiter listing), a
// page of artifactPage entries per request with the bucket's own page token, so a directory of
// 45,000 files costs what one page of it costs. Downloads stream from the bucket.

const artifactPage = 500

// linkLimit bounds a .link.txt file.
const linkLimit = 4096

// artifactRow is one listed entry.
type artifactRow struct {
	Name, Href, Size string
	Dir              bool
}

type artifactsView struct {
	Src, Dir, Up, Next string
	Crumbs             []artifactRow
	Rows               []artifactRow
	Standalone         bool
}

func (h *Handler) artifactsLens(ctx context.Context, _ *http.Request, rn *run, _ lensFiles) (template.HTML, error) {
	v, err := h.artifactsPage(ctx, rn.loc, "", nil)
	if err != nil {
		return "", err
	}
	return h.render("artifacts", v), nil
}

// artifactsPage lists dir (relative to the run) from token.
func (h *Handler) artifactsPage(ctx context.Context, loc location, dir string, token []byte) (*artifactsView, error) {
	b, err := h.bucket(ctx, loc)
	if err != nil {
		return nil, err
	}
	full := loc.join(dir)
	entries, next, err := listPage(ctx, b, loc, full.Key, token, artifactPage)
	if err != nil {
		return nil, err
	}
	v := &artifactsView{Src: loc.Src(), Dir: dir}
	base := "/spyglass/artifacts/" + loc.Src() + "?dir="
	for _, e := range entries {
		rel := path.Join(dir, e.Name)
		row := artifactRow{Name: e.Name, Dir: e.Dir}
		if e.Dir {
			row.Href = base + url.QueryEscape(rel+"/")
		} else {
			row.Href = "/spyglass/file/" + full.join(e.Name).Src()
			row.Size = humanSize(e.Size)
		}
		v.Rows = append(v.Rows, row)
	}
	if len(next) > 0 {
		v.Next = base + url.QueryEscape(dir) + "&token=" + base64.RawURLEncoding.EncodeToString(next)
	}
	if dir != "" {
		v.Up = base + url.QueryEscape(parentDir(dir))
	}
	return v, nil
}

func parentDir(dir string) string {
	p := path.Dir(strings.TrimSuffix(dir, "/"))
	if p == "." || p == "/" {
		return ""
	}
	return p + "/"
}

// serveArtifacts is a page of a run's directory listing: /spyglass/artifacts/<run>?dir=&token=.
func (h *Handler) serveArtifacts(w http.ResponseWriter, r *http.Request, src string) {
	loc, err := h.locate(src)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	dir := r.URL.Query().Get("dir")
	if dir != "" {
		if err := checkChild(loc.join(dir)); err != nil {
			h.fail(w, r, badRequest("%v", err))
			return
		}
	}
	token, err := base64.RawURLEncoding.DecodeString(r.URL.Query().Get("token"))
	if err != nil {
		h.fail(w, r, badRequest("token %q is not a page token", r.URL.Query().Get("token")))
		return
	}
	v, err := h.artifactsPage(r.Context(), loc, dir, token)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Standalone = true
	w.Header().Set("Cache-Control", "no-store")
	h.o.Chrome.Page(w, r, "Artifacts of "+loc.URL(), h.render("artifacts", v))
}

// serveFile streams one object from a readable bucket with its content type; HTML and other
// active types are sent as text so a bucket cannot serve pages in this origin.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, src string) {
	loc, err := h.locate(src)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if loc.Key == "" {
		h.fail(w, r, badRequest("%s names a bucket, not a file", src))
		return
	}
	b, err := h.bucket(r.Context(), loc)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	attrs, err := b.Attributes(r.Context(), loc.Key)
	if err != nil {
		if storage.IsNotFound(err) {
			h.fail(w, r, notFound("No file %s in the bucket.", loc.URL()))
			return
		}
		h.fail(w, r, err)
		return
	}
	rc, err := b.NewReader(r.Context(), loc.Key, nil)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer rc.Close()
	ct := attrs.ContentType
	if ct == "" || strings.HasPrefix(ct, "application/octet-stream") {
		if guess := storage.ContentType(loc.Key, nil); guess != "" {
			ct = guess
		}
	}
	w.Header().Set("Content-Type", safeContentType(ct))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "sandbox")
	w.Header().Set("Content-Length", strconv.FormatInt(attrs.Size, 10))
	w.Header().Set("Cache-Control", "private, max-age=60")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.Copy(w, rc)
}

// safeContentType keeps a type that cannot run script in this origin; others become text.
func safeContentType(ct string) string {
	if ct == "" {
		return "application/octet-stream"
	}
	base := strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0]))
	switch {
	case base == "text/html", base == "application/xhtml+xml", base == "image/svg+xml", strings.Contains(base, "javascript"), base == "text/xml", base == "application/xml":
		return "text/plain; charset=utf-8"
	}
	return ct
}

// linkView is one *.link.txt as a link.
type linkView struct{ Name, URL string }

// linksLens shows each file its config matched (Prow's: *.link.txt) as a link; only http and
// https URLs become links.
func (h *Handler) linksLens(ctx context.Context, _ *http.Request, rn *run, lf lensFiles) (template.HTML, error) {
	names := lf.files
	if len(names) == 0 {
		return "", errNothing
	}
	var links []linkView
	var errs []string
	for _, n := range names {
		data, err := readRunFile(ctx, rn, n, linkLimit)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		target := strings.TrimSpace(string(data))
		if u, err := url.Parse(target); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			errs = append(errs, n+": "+strconvQuote(target)+" is not an http(s) URL")
			continue
		}
		links = append(links, linkView{Name: strings.TrimSuffix(path.Base(n), ".link.txt"), URL: target})
	}
	return h.render("links", map[string]any{"Links": links, "Errors": errs}), nil
}

func strconvQuote(s string) string { return strconv.Quote(s) }
