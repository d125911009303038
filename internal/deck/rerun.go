package deck

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/deck/auth"
	"github.com/prowl-ci/prowl/internal/decorate"
	"github.com/prowl-ci/prowl/internal/jobs"
)

// getProwJob reads the ProwJob named by the prowjob parameter from the cache: 400 without the
// parameter, 404 when there is no such job.
func (s *Server) getProwJob(w http.ResponseWriter, r *http.Request) (*prowv1.ProwJob, bool) {
	name := r.URL.Query().Get("prowjob")
	if name == "" {
		http.Error(w, "request did not provide the 'prowjob' query parameter", http.StatusBadRequest)
		return nil, false
	}
	if len(name) > maxParam {
		http.Error(w, "parameter \"prowjob\": too long to be a ProwJob name", http.StatusBadRequest)
		return nil, false
	}
	pj := &prowv1.ProwJob{}
	key := types.NamespacedName{Namespace: s.o.Config().ProwJobNamespace, Name: name}
	if err := s.o.Cache.Get(r.Context(), key, pj); err != nil {
		if apierrors.IsNotFound(err) {
			http.Error(w, fmt.Sprintf("ProwJob not found: %q", name), http.StatusNotFound)
		} else {
			http.Error(w, "read ProwJob: "+err.Error(), http.StatusInternalServerError)
		}
		return nil, false
	}
	return pj, true
}

// componentLabels are the labels and annotations a rerun from the config in force keeps from the
// original, as Prow's Deck does.
var componentLabels = []string{"event-GUID", "prow.k8s.io/created-by-tide", "prow.k8s.io/gerrit-revision",
	"prow.k8s.io/gerrit-patchset", "prow.k8s.io/gerrit-report-label", "prow.k8s.io/gerrit-id", "prow.k8s.io/gerrit-instance"}

// newRun is the ProwJob a rerun of pj creates: pj's spec (or with mode=latest, the spec built
// from the config in force for the same job and refs), a new name, state triggered, now.
func (s *Server) newRun(pj *prowv1.ProwJob, latest bool) (*prowv1.ProwJob, error) {
	cfg := s.o.Config()
	b := jobs.Builder{Namespace: cfg.ProwJobNamespace, Clock: s.o.Clock, NewName: uuid.NewString}
	if !latest {
		labels, annotations := decorate.LabelsAndAnnotations(pj.Spec, pj.Labels, pj.Annotations)
		name := b.NewName()
		labels[prowv1.IDLabel] = name
		return &prowv1.ProwJob{
			TypeMeta:   metav1.TypeMeta{APIVersion: prowv1.SchemeGroupVersion.String(), Kind: "ProwJob"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: cfg.ProwJobNamespace, Labels: labels, Annotations: annotations},
			Spec:       *pj.Spec.DeepCopy(),
			Status:     prowv1.ProwJobStatus{State: prowv1.TriggeredState, StartTime: metav1.NewTime(s.o.Clock.Now())},
		}, nil
	}
	out, err := fromConfig(b, cfg, pj)
	if err != nil {
		return nil, err
	}
	for _, k := range componentLabels {
		if v, ok := pj.Labels[k]; ok {
			out.Labels[k] = v
		}
		if v, ok := pj.Annotations[k]; ok {
			out.Annotations[k] = v
		}
	}
	return out, nil
}

// fromConfig builds the job of pj's type and name from cfg for pj's refs.
func fromConfig(b jobs.Builder, cfg *config.Config, pj *prowv1.ProwJob) (*prowv1.ProwJob, error) {
	name, refs := pj.Spec.Job, pj.Spec.Refs
	if pj.Spec.Type == prowv1.PeriodicJob {
		for i := range cfg.Periodics {
			if cfg.Periodics[i].Name == name {
				return b.Periodic(&cfg.Periodics[i]), nil
			}
		}
		return nil, fmt.Errorf("failed to find associated periodic job %q", name)
	}
	if refs == nil || refs.Org == "" || refs.Repo == "" || refs.BaseRef == "" {
		return nil, fmt.Errorf("refs with org, repo and base_ref must be supplied")
	}
	orgRepo := refs.Org + "/" + refs.Repo
	switch pj.Spec.Type {
	case prowv1.PresubmitJob:
		for i, p := range cfg.PresubmitsStatic[orgRepo] {
			if p.Name == name && p.ShouldRun(refs.BaseRef) {
				return b.Presubmit(&cfg.PresubmitsStatic[orgRepo][i], *refs), nil
			}
		}
	case prowv1.PostsubmitJob:
		for i, p := range cfg.PostsubmitsStatic[orgRepo] {
			if p.Name == name && p.ShouldRun(refs.BaseRef) {
				return b.Postsubmit(&cfg.PostsubmitsStatic[orgRepo][i], *refs), nil
			}
		}
	default:
		return nil, fmt.Errorf("invalid prowjob type: %q", pj.Spec.Type)
	}
	return nil, fmt.Errorf("failed to find job %q for orgRepo %q on branch %q", name, orgRepo, refs.BaseRef)
}

// handleRerun is Prow's /rerun: GET shows the ProwJob a rerun would create (YAML); POST creates
// it when --rerun-creates-job is set and the user may.
func (s *Server) handleRerun(w http.ResponseWriter, r *http.Request) {
	mode := r.URL.Query().Get("mode")
	if mode != "" && mode != "latest" {
		http.Error(w, `parameter "mode": must be "latest" or left out`, http.StatusBadRequest)
		return
	}
	pj, ok := s.getProwJob(w, r)
	if !ok {
		return
	}
	newPJ, err := s.newRun(pj, mode == "latest")
	if err != nil {
		http.Error(w, "Could not create new prowjob: Failed getting prowjob spec: "+err.Error(), http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodGet {
		writeYAML(w, newPJ)
		return
	}
	if !s.o.RerunCreatesJob {
		http.Error(w, "Direct rerun feature is not enabled. Enable with the '--rerun-creates-job' flag.", http.StatusMethodNotAllowed)
		return
	}
	d := s.authorize(r, newPJ)
	if !d.allowed {
		s.refuse(w, r, "Rerun refused", d)
		return
	}
	newPJ.Status.Description = fmt.Sprintf("Successfully reran %v.", pj.Name)
	if d.user != "" {
		newPJ.Status.Description = fmt.Sprintf("%v successfully reran %v.", d.user, pj.Name)
	}
	if err := jobs.Create(r.Context(), s.o.Client, newPJ); err != nil {
		http.Error(w, "Error creating job: "+err.Error(), http.StatusInternalServerError)
		return
	}
	logFrom(r).Info("rerun", "prowjob", pj.Name, "new", newPJ.Name, "user", d.user)
	s.done(w, r, "Job successfully triggered. Wait 30 seconds and refresh the page for the job to show up.")
}

// handleAbort is Prow's /abort: POST sets a triggered or pending job aborted (Plank deletes its
// Pod), for the users who may rerun it.
func (s *Server) handleAbort(w http.ResponseWriter, r *http.Request) {
	pj, ok := s.getProwJob(w, r)
	if !ok {
		return
	}
	if pj.Status.State != prowv1.TriggeredState && pj.Status.State != prowv1.PendingState && pj.Status.State != "" {
		http.Error(w, fmt.Sprintf("Cannot abort job with state: %q.", pj.Status.State), http.StatusBadRequest)
		return
	}
	d := s.authorize(r, pj)
	if !d.allowed {
		s.refuse(w, r, "Abort refused", d)
		return
	}
	orig := pj.DeepCopy()
	pj.Status.State = prowv1.AbortedState
	pj.Status.Description = fmt.Sprintf("Successfully aborted %v.", pj.Name)
	if d.user != "" {
		pj.Status.Description = fmt.Sprintf("%v successfully aborted %v.", d.user, pj.Name)
	}
	patch := client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})
	if err := s.o.Client.Status().Patch(r.Context(), pj, patch); err != nil {
		code := http.StatusInternalServerError
		if apierrors.IsConflict(err) {
			code = http.StatusConflict
		}
		http.Error(w, "Could not patch aborted job: "+err.Error(), code)
		return
	}
	logFrom(r).Info("abort", "prowjob", pj.Name, "user", d.user)
	s.done(w, r, "Job successfully aborted.")
}

// returnTo is the form's return path, when it is a path on this site.
func returnTo(r *http.Request) string {
	ret := r.PostFormValue("return")
	if !strings.HasPrefix(ret, "/") || strings.HasPrefix(ret, "//") || strings.HasPrefix(ret, "/\\") {
		return ""
	}
	return ret
}

// done answers a successful rerun or abort: back to the page for a form of Deck's, else Prow's text.
func (s *Server) done(w http.ResponseWriter, r *http.Request, msg string) {
	if ret := returnTo(r); ret != "" {
		http.Redirect(w, r, ret, http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = fmt.Fprintln(w, msg)
}

// refuse answers a refusal with its reason: a page for Deck's forms, else text.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, title string, d decision) {
	if ret := returnTo(r); ret != "" {
		s.message(w, r, d.code, title, d.why, ret)
		return
	}
	http.Error(w, d.why, d.code)
}

func writeYAML(w http.ResponseWriter, v any) {
	b, err := yaml.Marshal(v)
	if err != nil {
		http.Error(w, "marshal: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

var actionsTmpl = template.Must(template.New("actions").Parse(`
{{- if .Rerun}}<form method="post" action="/rerun?prowjob={{.Name}}" class="inline action"><input type="hidden" name="csrf_token" value="{{.CSRF}}"><input type="hidden" name="return" value="{{.Return}}"><button type="submit" class="button small rerun" data-prowjob="{{.Name}}">Rerun</button></form>{{end}}
{{- if .Abort}}<form method="post" action="/abort?prowjob={{.Name}}" class="inline action"><input type="hidden" name="csrf_token" value="{{.CSRF}}"><input type="hidden" name="return" value="{{.Return}}"><button type="submit" class="button small danger abort" data-prowjob="{{.Name}}">Abort</button></form>{{end}}
{{- if .Spec}}<a class="spec" href="/rerun?prowjob={{.Name}}" title="The ProwJob a rerun would create; start Deck with --rerun-creates-job to rerun from here">rerun spec</a>{{end}}
{{- if .Why}}<span class="why">{{if .Login}}<a href="{{.Login}}">{{.Why}}</a>{{else}}{{.Why}}{{end}}</span>{{end}}`))

// Actions is the rerun and abort controls (forms with CSRF tokens) for pj that the request's user
// may try, or a short text saying why not; empty for neither. It decides from what needs no
// GitHub call (allow_anyone, local mode, being logged in); the POST makes the full check and says
// why when it refuses.
func (s *Server) Actions(r *http.Request, pj *prowv1.ProwJob) template.HTML {
	ret := r.URL.RequestURI()
	if r.URL.Path == "/events" {
		ret = "/?" + r.URL.RawQuery
	}
	v := struct {
		Name, CSRF, Return, Why, Login string
		Rerun, Abort, Spec             bool
	}{Name: pj.Name, CSRF: auth.CSRFToken(r), Return: ret}
	abortable := pj.Status.State == prowv1.TriggeredState || pj.Status.State == prowv1.PendingState
	cfgAuth, _ := s.deckRerunAuth(&pj.Spec)
	may := allowAnyone(cfgAuth) || allowAnyone(pj.Spec.RerunAuthConfig) || s.localUser(r) || auth.Login(r) != ""
	switch {
	case may:
		v.Rerun, v.Spec, v.Abort = s.o.RerunCreatesJob, !s.o.RerunCreatesJob, abortable
	case s.auth.LoginEnabled():
		v.Why, v.Login = "Log in to rerun", "/github-login?dest="+url.QueryEscape(ret)
		v.Spec = !s.o.RerunCreatesJob
	default:
		v.Spec = true
	}
	var buf bytes.Buffer
	if err := actionsTmpl.Execute(&buf, v); err != nil {
		return ""
	}
	return template.HTML(buf.String()) // #nosec G203 -- produced by html/template
}
