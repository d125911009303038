package jobs

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/yaml"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/decorate"
	"github.com/prowl-ci/prowl/internal/testutil"
)

var now = time.Date(2019, 5, 22, 22, 8, 29, 0, time.UTC)

func testBuilder(c *config.Config) Builder {
	b := NewBuilder(c)
	b.Clock = clocktesting.NewFakePassiveClock(now)
	b.NewName = func() string { return "21168afd-7cde-11e9-ba39-921b53acd1f4" }
	return b
}

func loadExamples(t *testing.T, jobs string) *config.Config {
	t.Helper()
	c, _, err := config.Load(config.Options{ConfigPath: testutil.Seed("prow-config.yaml"), JobConfigPath: jobs})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func toMap(t *testing.T, v any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSeedPeriodic: the seed's job config, with the decoration defaults the seed's ProwJob shows
// (testdata/seed/prow-config.yaml), makes the seed's ProwJob.
func TestSeedPeriodic(t *testing.T) {
	t.Parallel()
	c := loadExamples(t, testutil.Seed("periodic-config.yaml"))
	b := testBuilder(c)
	b.NewName = func() string { return "fresh-name" }
	pj := b.Periodic(&c.Periodics[0])

	raw, err := os.ReadFile(testutil.Seed("prowjob.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := yaml.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	got := toMap(t, pj)

	// The allowed differences: what the API server sets, the fresh name, and the status, which the
	// seed's YAML leaves out (a new ProwJob is triggered, started now).
	if got["metadata"].(map[string]any)["labels"].(map[string]any)[prowv1.IDLabel] != pj.Name {
		t.Errorf("label %s does not equal the name %s", prowv1.IDLabel, pj.Name)
	}
	for _, m := range []map[string]any{want, got} {
		meta := m["metadata"].(map[string]any)
		for _, k := range []string{"name", "uid", "resourceVersion", "selfLink", "generation", "creationTimestamp"} {
			delete(meta, k)
		}
		delete(meta["labels"].(map[string]any), prowv1.IDLabel)
		delete(m, "status")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ProwJob differs from the seed's (-seed +built):\n%s", diff)
	}
	if pj.Status.State != prowv1.TriggeredState || !pj.Status.StartTime.Time.Equal(now) {
		t.Errorf("status %+v: want triggered, started %v", pj.Status, now)
	}
}

func TestPresubmitLabelsAndRefs(t *testing.T) {
	t.Parallel()
	long := "pull-" + strings.Repeat("a", 70)
	dir := t.TempDir()
	jobs := filepath.Join(dir, "jobs.yaml")
	if err := os.WriteFile(jobs, []byte(`presubmits:
  org/repo:
  - name: `+long+`
    context: "ci / unit"
    path_alias: example.com/repo
    clone_depth: 1
    labels: {team: a}
    annotations: {owner: b}
    decorate: true
    spec: {containers: [{image: golang, command: [go, test]}]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	c := loadExamples(t, jobs)
	refs := prowv1.Refs{Org: "org", Repo: "repo", BaseRef: "main", BaseSHA: "abc", Pulls: []prowv1.Pull{{Number: 42, Author: "alice", SHA: "def"}}}
	pj := testBuilder(c).Presubmit(&c.PresubmitsStatic["org/repo"][0], refs)

	wantLabels := map[string]string{
		"created-by-prow": "true", "prow.k8s.io/type": "presubmit", "prow.k8s.io/id": pj.Name,
		"prow.k8s.io/job": long[:63], "prow.k8s.io/refs.org": "org", "prow.k8s.io/refs.repo": "repo",
		"prow.k8s.io/refs.base_ref": "main", "prow.k8s.io/refs.pull": "42", "team": "a",
	}
	if diff := cmp.Diff(wantLabels, pj.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	wantAnnotations := map[string]string{"prow.k8s.io/job": long, "prow.k8s.io/context": "ci / unit", "owner": "b"}
	if diff := cmp.Diff(wantAnnotations, pj.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	if pj.Spec.Refs.PathAlias != "example.com/repo" || pj.Spec.Refs.CloneDepth != 1 || !pj.Spec.Report || pj.Spec.RerunCommand != "/test "+long {
		t.Errorf("spec: %+v refs %+v", pj.Spec, pj.Spec.Refs)
	}
	if pj.Spec.DecorationConfig == nil || pj.Spec.DecorationConfig.UtilityImages.Sidecar == "" {
		t.Error("decoration_config is not defaulted")
	}
	// The builder copies: changing the ProwJob leaves the config alone.
	pj.Spec.PodSpec.Containers[0].Image = "changed"
	if c.PresubmitsStatic["org/repo"][0].Spec.Containers[0].Image != "golang" {
		t.Error("the ProwJob shares its pod spec with the config")
	}
}

func TestPeriodicLabelsFromExtraRefs(t *testing.T) {
	t.Parallel()
	spec := prowv1.ProwJobSpec{Type: prowv1.PeriodicJob, Job: "j", ExtraRefs: []prowv1.Refs{{Org: "o", Repo: "r", BaseRef: "main"}}}
	labels, _ := decorate.LabelsAndAnnotations(spec, nil, nil)
	if labels[prowv1.OrgLabel] != "o" || labels[prowv1.RepoLabel] != "r" || labels[prowv1.BaseRefLabel] != "main" {
		t.Errorf("labels %v", labels)
	}
}

// TestBatch: a batch tests several pull requests merged together: its type, refs and labels.
func TestBatch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jobsFile := filepath.Join(dir, "jobs.yaml")
	if err := os.WriteFile(jobsFile, []byte("presubmits:\n  org/repo:\n  - name: pull-unit\n    decorate: true\n    spec: {containers: [{image: golang, command: [go, test]}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := loadExamples(t, jobsFile)
	refs := prowv1.Refs{Org: "org", Repo: "repo", BaseRef: "main", BaseSHA: "abc", Pulls: []prowv1.Pull{{Number: 1, Author: "a", SHA: "s1"}, {Number: 2, Author: "b", SHA: "s2"}}}
	pj := testBuilder(c).Batch(&c.PresubmitsStatic["org/repo"][0], refs)
	if pj.Spec.Type != prowv1.BatchJob || len(pj.Spec.Refs.Pulls) != 2 || pj.Labels[prowv1.TypeLabel] != "batch" || pj.Spec.Context != "pull-unit" {
		t.Errorf("batch ProwJob: %+v labels %v", pj.Spec, pj.Labels)
	}
	if pj.Labels[prowv1.PullLabel] != "1" {
		t.Errorf("pull label %q, want the first pull", pj.Labels[prowv1.PullLabel])
	}
}
