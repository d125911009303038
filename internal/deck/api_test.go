package deck

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

func TestProwJobsJSInProwsShape(t *testing.T) {
	h := newHarness(t, setup{})
	seedJobs(h)
	code, body, hdr := h.get(nil, "/prowjobs.js")
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s", code, hdr.Get("Content-Type"))
	}
	var list struct {
		Items []prowv1.ProwJob `json:"items"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 5 {
		t.Fatalf("%d items, want 5", len(list.Items))
	}
	for _, pj := range list.Items {
		if pj.ManagedFields != nil || pj.Labels["prow.k8s.io/job"] == "" || pj.Spec.DecorationConfig == nil || pj.Spec.PodSpec.Containers[0].Image != "alpine" {
			t.Errorf("%s: not the full ProwJob without managedFields: %+v", pj.Name, pj.ObjectMeta)
		}
	}
	if strings.Contains(body, "managedFields") {
		t.Error("managedFields in /prowjobs.js")
	}
	_, body, _ = h.get(nil, "/prowjobs.js?omit=annotations,labels,decoration_config,pod_spec")
	list.Items = nil
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	for _, pj := range list.Items {
		if pj.Labels != nil || pj.Annotations != nil || pj.Spec.DecorationConfig != nil {
			t.Errorf("%s: omitted fields present", pj.Name)
		}
		if pj.Spec.PodSpec == nil || len(pj.Spec.PodSpec.Containers) != 1 || pj.Spec.PodSpec.Containers[0].Image != "" {
			t.Errorf("%s: an omitted pod_spec keeps one empty container per container: %+v", pj.Name, pj.Spec.PodSpec)
		}
	}
	// The cache was not changed by omitting.
	if r := h.srv.index.get("a-success"); r.pj.Labels == nil || r.pj.Spec.PodSpec.Containers[0].Image != "alpine" {
		t.Error("omit changed the cached ProwJob")
	}
	for query, want := range map[string]string{
		"org=kubernetes":       "c-pending,b-failure,d-periodic",
		"repo=test-infra":      "c-pending,b-failure,d-periodic",
		"org=prowl&repo=prowl": "e-error",
		"owner=alice":          "b-failure",
	} {
		_, body, _ := h.get(nil, "/prowjobs.js?"+query)
		list.Items = nil
		if err := json.Unmarshal([]byte(body), &list); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, pj := range list.Items {
			names = append(names, pj.Name)
		}
		if got := strings.Join(names, ","); got != want {
			t.Errorf("?%s: %s, want %s", query, got, want)
		}
	}
	code, body, hdr = h.get(nil, "/prowjobs.js?var=allBuilds&owner=nobody")
	if code != http.StatusOK || body != `var allBuilds = {"items":[]};` || hdr.Get("Content-Type") != "application/javascript" {
		t.Errorf("var=: %d %q %s", code, body, hdr.Get("Content-Type"))
	}
	for query, want := range map[string]string{"omit=spec": `parameter "omit"`, "var=x%3Balert(1)": `parameter "var"`} {
		if code, body, _ := h.get(nil, "/prowjobs.js?"+query); code != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("?%s: %d %q", query, code, body)
		}
	}
}

func TestProwJobYAML(t *testing.T) {
	h := newHarness(t, setup{})
	h.create(job{name: "one", job: "ci-one"})
	code, body, _ := h.get(nil, "/prowjob?prowjob=one")
	var pj prowv1.ProwJob
	if err := yaml.Unmarshal([]byte(body), &pj); code != http.StatusOK || err != nil || pj.Name != "one" || pj.Spec.Job != "ci-one" {
		t.Fatalf("%d %v %s", code, err, body)
	}
	if strings.Contains(body, "managedFields") {
		t.Error("managedFields in /prowjob")
	}
	if code, body, _ := h.get(nil, "/prowjob"); code != http.StatusBadRequest || !strings.Contains(body, "'prowjob' query parameter") {
		t.Errorf("no parameter: %d %s", code, body)
	}
	if code, _, _ := h.get(nil, "/prowjob?prowjob=nope"); code != http.StatusNotFound {
		t.Errorf("unknown job: %d, want 404", code)
	}
}

func TestBadge(t *testing.T) {
	h := newHarness(t, setup{})
	h.create(job{name: "old-fail", job: "ci-a", state: prowv1.FailureState, age: 2 * time.Hour, done: time.Minute})
	h.create(job{name: "new-pass", job: "ci-a", state: prowv1.SuccessState, age: time.Hour, done: time.Minute})
	h.create(job{name: "b-fail", job: "ci-b", state: prowv1.FailureState, age: time.Hour, done: time.Minute})
	for query, want := range map[string]string{
		"jobs=ci-a":      ">passing</text>",
		"jobs=ci-*":      ">failing ci-b</text>",
		"jobs=ci-a,ci-b": ">failing ci-b</text>",
		"jobs=nothing-*": ">no results</text>",
	} {
		code, body, hdr := h.get(nil, "/badge.svg?"+query)
		if code != http.StatusOK || hdr.Get("Content-Type") != "image/svg+xml" || !strings.Contains(body, want) {
			t.Errorf("?%s: %d %s, want %s", query, code, body, want)
		}
	}
	if code, body, _ := h.get(nil, "/badge.svg"); code != http.StatusBadRequest || !strings.Contains(body, "missing jobs query parameter") {
		t.Errorf("no jobs: %d %s", code, body)
	}
	if code, _, _ := h.get(nil, "/badge.svg?jobs=["); code != http.StatusBadRequest {
		t.Errorf("bad glob: %d", code)
	}
}

const repoJobs = `presubmits:
  kubernetes/test-infra:
  - name: pull-unit
    always_run: true
    decorate: false
    spec: {containers: [{image: alpine, command: ["true"]}]}
postsubmits:
  kubernetes/test-infra:
  - name: post-build
    branches: [main]
    decorate: false
    spec: {containers: [{image: alpine, command: ["true"]}]}
periodics:
- name: ci-one
  interval: 1h
  decorate: false
  spec: {containers: [{image: alpine, command: ["true"]}]}
`

func TestConfigAndConfiguredJobs(t *testing.T) {
	h := newHarness(t, setup{jobs: repoJobs})
	code, body, _ := h.get(nil, "/config")
	if code != http.StatusOK || !strings.Contains(body, "prowjob_namespace: "+h.ns) || !strings.Contains(body, "name: ci-one") {
		t.Errorf("/config: %d %s", code, body)
	}
	if code, _, _ := h.get(nil, "/config?key=nope"); code != http.StatusBadRequest {
		t.Errorf("/config?key=nope: %d", code)
	}
	code, body, _ = h.get(nil, "/configured-jobs/kubernetes/test-infra")
	if code != http.StatusOK || !strings.Contains(body, ">pull-unit</a>") || !strings.Contains(body, ">post-build</a>") || strings.Contains(body, "ci-one") {
		t.Errorf("/configured-jobs/kubernetes/test-infra: %d %s", code, body)
	}
	if code, body, _ := h.get(nil, "/configured-jobs/kubernetes"); code != http.StatusOK || !strings.Contains(body, ">pull-unit</a>") {
		t.Errorf("/configured-jobs/kubernetes: %d", code)
	}
	if code, body, _ := h.get(nil, "/configured-jobs/"); code != http.StatusOK || !strings.Contains(body, `href="/configured-jobs/kubernetes/test-infra"`) {
		t.Errorf("/configured-jobs/: %d %s", code, body)
	}
	if code, _, _ := h.get(nil, "/configured-jobs/nobody/nothing"); code != http.StatusNotFound {
		t.Errorf("unknown repo: %d", code)
	}
}

func TestMethodsHealthMetricsStatic(t *testing.T) {
	h := newHarness(t, setup{})
	for _, c := range []struct{ method, path string }{{"PUT", "/prowjobs.js"}, {"DELETE", "/"}, {"GET", "/abort"}, {"PATCH", "/rerun"}} {
		req, _ := http.NewRequest(c.method, h.url+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d, want 405", c.method, c.path, resp.StatusCode)
		}
	}
	if code, body, _ := h.get(nil, "/healthz"); code != http.StatusOK || body != "OK" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	h.get(nil, "/")
	if code, _, _ := h.get(nil, "/metrics"); code != http.StatusOK {
		t.Errorf("/metrics: %d", code)
	}
	for _, f := range []string{"/static/prowl.css", "/static/deck.js"} {
		code, _, hdr := h.get(nil, f+"?v="+staticVersion)
		if code != http.StatusOK || !strings.Contains(hdr.Get("Cache-Control"), "max-age=31536000") {
			t.Errorf("%s: %d %q", f, code, hdr.Get("Cache-Control"))
		}
	}
	if code, _, _ := h.get(nil, "/static/"); code != http.StatusNotFound {
		t.Errorf("/static/ lists files: %d", code)
	}
	if code, _, _ := h.get(nil, "/static/nope.js"); code != http.StatusNotFound {
		t.Errorf("/static/nope.js: %d", code)
	}
}
