package deck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
)

// routes registers every handler; net/http answers 405 with Allow for a wrong method.
func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /{$}", s.handleList)
	m.HandleFunc("GET /events", s.handleEvents)
	m.Handle("GET /static/", staticHandler())
	m.HandleFunc("GET /prowjobs.js", s.handleProwJobs)
	m.HandleFunc("GET /prowjob", s.handleProwJob)
	m.HandleFunc("GET /badge.svg", s.handleBadge)
	m.HandleFunc("GET /config", s.handleConfig)
	m.HandleFunc("GET /configured-jobs/", s.handleConfiguredJobs)
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("OK")) })
	m.Handle("GET /metrics", promhttp.HandlerFor(s.o.Gatherer, promhttp.HandlerOpts{}))
	m.HandleFunc("GET /rerun", s.handleRerun)
	m.Handle("POST /rerun", protect(s.handleRerun))
	m.Handle("POST /abort", protect(s.handleAbort))
	m.HandleFunc("GET /github-login", s.auth.HandleLogin)
	m.HandleFunc("GET /github-login/redirect", s.auth.HandleRedirect)
	m.Handle("POST /github-logout", protect(s.auth.HandleLogout))
}

func logFrom(r *http.Request) logr.Logger {
	return logr.FromContextOrDiscard(r.Context()).WithName("deck")
}

// Omittable ProwJob fields of /prowjobs.js, as Prow names them.
var omittable = []string{"annotations", "labels", "decoration_config", "pod_spec"}

// jsIdent is what var= may be: it is written into JavaScript, so nothing else is allowed.
var jsIdent = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// handleProwJobs is Prow's /prowjobs.js: {"items":[...]} of full ProwJobs without managedFields,
// filtered by org, repo (refs, else any extra_refs) and owner (a pull's author), with fields left
// out by omit (an omitted pod_spec keeps one empty container per container), and wrapped as
// `var X = ...;` with var=X. Items are encoded one at a time from the index, without copying
// the cache.
func (s *Server) handleProwJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	omit := map[string]bool{}
	if o := q.Get("omit"); o != "" {
		for _, f := range strings.Split(o, ",") {
			if !slices.Contains(omittable, f) {
				http.Error(w, fmt.Sprintf("parameter \"omit\": %q is not one of %s", f, strings.Join(omittable, ", ")), http.StatusBadRequest)
				return
			}
			omit[f] = true
		}
	}
	v := q.Get("var")
	if v != "" && !jsIdent.MatchString(v) {
		http.Error(w, `parameter "var": must be a JavaScript identifier`, http.StatusBadRequest)
		return
	}
	org, repo, owner := q.Get("org"), q.Get("repo"), q.Get("owner")
	w.Header().Set("Cache-Control", "no-store, must-revalidate")
	w.Header().Set("Expires", "0")
	if v != "" {
		w.Header().Set("Content-Type", "application/javascript")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if v != "" {
		fmt.Fprintf(bw, "var %s = ", v)
	}
	bw.WriteString(`{"items":[`)
	enc := json.NewEncoder(bw)
	first := true
	var scratch prowv1.ProwJob
	empty := map[int]*corev1.PodSpec{} // one trimmed pod spec per container count
	s.index.each(nil, func(rw *row) bool {
		pj := rw.pj
		if !refsMatch(pj, org, func(r prowv1.Refs) string { return r.Org }) ||
			!refsMatch(pj, repo, func(r prowv1.Refs) string { return r.Repo }) || !ownerMatch(pj, owner) {
			return true
		}
		if !first {
			bw.WriteByte(',')
		}
		first = false
		_ = enc.Encode(trimmed(&scratch, pj, omit, empty))
		return true
	})
	bw.WriteString("]}")
	if v != "" {
		bw.WriteString(";")
	}
	_ = bw.Flush()
}

func refsMatch(pj *prowv1.ProwJob, want string, field func(prowv1.Refs) string) bool {
	if want == "" {
		return true
	}
	if pj.Spec.Refs == nil {
		return slices.ContainsFunc(pj.Spec.ExtraRefs, func(r prowv1.Refs) bool { return field(r) == want })
	}
	return field(*pj.Spec.Refs) == want
}

func ownerMatch(pj *prowv1.ProwJob, owner string) bool {
	if owner == "" {
		return true
	}
	return pj.Spec.Refs != nil && slices.ContainsFunc(pj.Spec.Refs.Pulls, func(p prowv1.Pull) bool { return p.Author == owner })
}

// trimmed is a shallow copy of the cached pj into out, with managedFields and the omitted fields
// left out; the cached object is not touched. Reusing out and the empty pod specs (read-only)
// keeps an item from allocating.
func trimmed(out, pj *prowv1.ProwJob, omit map[string]bool, empty map[int]*corev1.PodSpec) *prowv1.ProwJob {
	*out = *pj
	out.ManagedFields = nil
	if omit["annotations"] {
		out.Annotations = nil
	}
	if omit["labels"] {
		out.Labels = nil
	}
	if omit["decoration_config"] {
		out.Spec.DecorationConfig = nil
	}
	if omit["pod_spec"] && pj.Spec.PodSpec != nil {
		n := len(pj.Spec.PodSpec.Containers)
		if empty[n] == nil {
			empty[n] = &corev1.PodSpec{Containers: make([]corev1.Container, n)}
		}
		out.Spec.PodSpec = empty[n]
	}
	return out
}

// handleProwJob is Prow's /prowjob?prowjob=NAME: the ProwJob as YAML without managedFields.
func (s *Server) handleProwJob(w http.ResponseWriter, r *http.Request) {
	pj, ok := s.getProwJob(w, r)
	if !ok {
		return
	}
	pj.ManagedFields = nil
	writeYAML(w, pj)
}

// handleConfig is Prow's /config: the config in force as YAML (key=disabled-clusters: that list).
func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request) {
	switch k := r.URL.Query().Get("key"); k {
	case "":
		writeYAML(w, s.o.Config())
	case "disabled-clusters":
		writeYAML(w, []string{})
	default:
		http.Error(w, fmt.Sprintf("parameter \"key\": getting config for key %s is not supported", k), http.StatusBadRequest)
	}
}

// configuredJob is one row of /configured-jobs.
type configuredJob struct {
	Name, Type, Branches, Trigger, Source string
	Always                                bool
}

// handleConfiguredJobs is Prow's /configured-jobs/<org>/<repo>: the presubmits and postsubmits
// configured for a repo (all of an org's with only <org>), and an index of repos at /configured-jobs/.
func (s *Server) handleConfiguredJobs(w http.ResponseWriter, r *http.Request) {
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/configured-jobs/"), "/")
	cfg := s.o.Config()
	parts := strings.Split(rest, "/")
	if len(parts) > 2 {
		http.NotFound(w, r)
		return
	}
	var repos []string
	for _, k := range append(config.SortedKeys(cfg.PresubmitsStatic), config.SortedKeys(cfg.PostsubmitsStatic)...) {
		if !slices.Contains(repos, k) {
			repos = append(repos, k)
		}
	}
	sort.Strings(repos)
	if rest == "" {
		body, err := render("configured-index", repos)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		s.Page(w, r, "Configured jobs", body)
		return
	}
	var out []configuredJob
	for _, repo := range repos {
		if (len(parts) == 2 && repo != rest) || (len(parts) == 1 && !strings.HasPrefix(repo, rest+"/")) {
			continue
		}
		for _, p := range cfg.PresubmitsStatic[repo] {
			out = append(out, configuredJob{Name: p.Name, Type: "presubmit", Branches: branches(p.Brancher), Trigger: p.RerunCommand, Always: p.AlwaysRun, Source: p.SourcePath})
		}
		for _, p := range cfg.PostsubmitsStatic[repo] {
			out = append(out, configuredJob{Name: p.Name, Type: "postsubmit", Branches: branches(p.Brancher), Source: p.SourcePath})
		}
	}
	if len(out) == 0 {
		http.Error(w, fmt.Sprintf("no presubmits or postsubmits are configured for %q", rest), http.StatusNotFound)
		return
	}
	body, err := render("configured", map[string]any{"Repo": rest, "Jobs": out})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.Page(w, r, "Jobs of "+rest, body)
}

func branches(b config.Brancher) string {
	s := strings.Join(b.Branches, ", ")
	if s == "" {
		s = "all"
	}
	if len(b.SkipBranches) > 0 {
		s += " except " + strings.Join(b.SkipBranches, ", ")
	}
	return s
}

// badgeTmpl draws a two-part badge, [build | status], in the style of shields.io.
var badgeTmpl = template.Must(template.New("badge").Parse(`<svg xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="20" role="img" aria-label="build: {{.Status}}">
<rect rx="3" width="{{.Width}}" height="20" fill="#555"/>
<rect rx="3" x="{{.Left}}" width="{{.Right}}" height="20" fill="{{.Color}}"/>
<path d="M{{.Left}} 0h4v20h-4z" fill="{{.Color}}"/>
<g fill="#fff" text-anchor="middle" font-family="DejaVu Sans,Verdana,Geneva,sans-serif" font-size="11">
<text x="{{.LeftMid}}" y="14">build</text>
<text x="{{.RightMid}}" y="14">{{.Status}}</text>
</g>
</svg>`))

// handleBadge is Prow's /badge.svg?jobs=glob[,glob]: the latest run of each matching job;
// "passing", "failing" with up to three failing jobs, or "no results".
func (s *Server) handleBadge(w http.ResponseWriter, r *http.Request) {
	want := r.URL.Query().Get("jobs")
	if want == "" {
		http.Error(w, "missing jobs query parameter", http.StatusBadRequest)
		return
	}
	globs := strings.Split(want, ",")
	for _, g := range globs {
		if _, err := path.Match(g, ""); err != nil {
			http.Error(w, fmt.Sprintf("parameter \"jobs\": %q is not a valid glob", g), http.StatusBadRequest)
			return
		}
	}
	status, color := badgeStatus(s.latest(globs))
	left, right := 13+6*len("build"), 13+6*len(status)
	var buf bytes.Buffer
	_ = badgeTmpl.Execute(&buf, map[string]any{"Width": left + right, "Left": left, "Right": right,
		"LeftMid": float64(left) / 2, "RightMid": float64(left) + float64(right-2)/2, "Status": status, "Color": color})
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store, must-revalidate")
	_, _ = w.Write(buf.Bytes())
}

// latest is the newest run of each job whose name matches one of globs; a name's match is
// decided once per request.
func (s *Server) latest(globs []string) map[string]prowv1.ProwJobState {
	seen := map[string]bool{}
	out := map[string]prowv1.ProwJobState{}
	s.index.each(nil, func(rw *row) bool {
		if _, done := seen[rw.job]; done {
			return true
		}
		match := slices.ContainsFunc(globs, func(g string) bool { ok, _ := path.Match(g, rw.job); return ok })
		seen[rw.job] = match
		if match {
			out[rw.job] = rw.state
		}
		return true
	})
	return out
}

func badgeStatus(latest map[string]prowv1.ProwJobState) (string, string) {
	if len(latest) == 0 {
		return "no results", "darkgrey"
	}
	var failed []string
	for job, st := range latest {
		if st == prowv1.FailureState {
			failed = append(failed, job)
		}
	}
	if len(failed) == 0 {
		return "passing", "#4c1"
	}
	sort.Strings(failed)
	if len(failed) > 3 {
		failed = append(failed[:3], "...")
	}
	return "failing " + strings.Join(failed, ", "), "#e05d44"
}
