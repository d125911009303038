package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prowl-ci/prowl/internal/testutil"
)

// writeTree writes files (path → content) under a new temporary directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// decorationDefaults is a prow config whose defaults make every decorated job valid.
const decorationDefaults = `
pod_namespace: test-pods
plank:
  default_decoration_config_entries:
  - config:
      timeout: 2h
      grace_period: 15s
      utility_images: {clonerefs: c:1, initupload: i:1, entrypoint: e:1, sidecar: s:1}
      gcs_configuration: {bucket: b, path_strategy: explicit}
      gcs_credentials_secret: gcs
`

func TestLoadTestInfraCorpus(t *testing.T) {
	t.Parallel()
	root := testutil.SharedTestdata(t, "prow-config", "test-infra", "config")
	c, warnings, err := Load(Options{ConfigPath: filepath.Join(root, "prow", "config.yaml"), JobConfigPath: filepath.Join(root, "jobs")})
	if err != nil {
		t.Fatalf("test-infra's config must load with zero errors:\n%v", err)
	}
	// Every key in test-infra's config is one Prow knows: there are no unknown-key warnings.
	var got []string
	for _, w := range warnings {
		got = append(got, w.Error())
	}
	if len(got) > 0 {
		t.Errorf("unexpected warnings:\n%s", strings.Join(got, "\n"))
	}
	if s := c.Summary(); s != "1335 periodics, 2261 presubmits, 253 postsubmits" {
		t.Errorf("Summary() = %q", s)
	}
	// Spot checks on defaulting from the real config.
	for _, p := range c.Periodics {
		if p.Decorated() && (p.DecorationConfig == nil || p.DecorationConfig.UtilityImages == nil || p.DecorationConfig.UtilityImages.Sidecar == "") {
			t.Fatalf("periodic %s is decorated without utility images after defaulting", p.Name)
		}
		if p.Namespace == nil || *p.Namespace != "test-pods" {
			t.Fatalf("periodic %s namespace = %v, want pod_namespace test-pods", p.Name, p.Namespace)
		}
	}
	if _, ok := c.Other["tide"]; !ok {
		t.Error("the tide section was not kept")
	}
	// checkconfig's warnings: each is one Prow's checkconfig draws too, by its rule as Prow
	// states it (a kubernetes job's name over 63 characters; a periodic's top-level clone_depth,
	// clone_uri or path_alias), and none is Prowl's own.
	for _, w := range c.Lint(LintOptions{}) {
		var p *Periodic
		for i := range c.Periodics {
			if c.Periodics[i].Name == w.Job && c.Periodics[i].SourcePath == w.File {
				p = &c.Periodics[i]
			}
		}
		switch {
		case w.Warning == WarnLongJobNames && len(w.Job) > 63:
		case w.Warning == WarnPeriodicDefaultClone && p != nil && (p.CloneDepth != 0 || p.CloneURI != "" || p.PathAlias != ""):
		default:
			t.Errorf("a warning Prow would not draw: %v [%s]", w, w.Warning)
		}
	}
}

func TestLoadProwFixtures(t *testing.T) {
	t.Parallel()
	dir := testutil.SharedTestdata(t, "prow")
	for _, tc := range []struct {
		name    string
		opts    Options
		want    string
		wantErr string // the one error expected, if any
	}{
		{"integration-config", Options{ConfigPath: filepath.Join(dir, "integration-config", "config.yaml"), JobConfigPath: filepath.Join(dir, "integration-config", "jobs"), Strict: true}, "2 periodics, 6 presubmits, 2 postsubmits", ""},
		{"checkconfig-combined", Options{ConfigPath: filepath.Join(dir, "checkconfig-combined.yaml"), Strict: true}, "0 periodics, 13 presubmits, 2 postsubmits", ""},
		// The documented config names every key Prow has: with --strict none may be unknown. It is
		// Prow's generated reference, not a config Prow loads: it sets every field, so both forms of
		// the deck's rerun rules, which Prow's loading refuses, and so does Prowl's, alone.
		{"documented", Options{ConfigPath: filepath.Join(dir, "prow-config-documented.yaml"), Strict: true}, "", "deck.default_rerun_auth_configs: deck.rerun_auth_configs and deck.default_rerun_auth_configs are mutually exclusive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, warnings, err := Load(tc.opts)
			if tc.wantErr != "" {
				var errs Errors
				if !errors.As(err, &errs) || len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.wantErr) {
					t.Fatalf("Load: %v; want only %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) > 0 {
				t.Errorf("warnings: %v", warnings)
			}
			if got := c.Summary(); got != tc.want {
				t.Errorf("Summary() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLoadSeed(t *testing.T) {
	t.Parallel()
	cfg := writeTree(t, map[string]string{"config.yaml": decorationDefaults})
	c, _, err := Load(Options{ConfigPath: filepath.Join(cfg, "config.yaml"), JobConfigPath: testutil.Seed("periodic-config.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Periodics) != 1 || c.Periodics[0].Name != "echo-test" || c.Periodics[0].GetInterval().Minutes() != 60 {
		t.Fatalf("periodics = %+v", c.Periodics)
	}
}

// TestLoadingRules checks each rule of how files are found and merged.
func TestLoadingRules(t *testing.T) {
	t.Parallel()
	periodic := func(name string) string {
		return "- name: " + name + "\n  interval: 1h\n  spec: {containers: [{image: alpine, command: [date]}]}\n"
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string // Summary
	}{
		{"yaml and yml, recursively", map[string]string{"a.yaml": "periodics:\n" + periodic("a"), "sub/deeper/b.yml": "periodics:\n" + periodic("b"), "c.txt": "periodics:\n" + periodic("c")}, "2 periodics, 0 presubmits, 0 postsubmits"},
		{".prowignore skips files and directories", map[string]string{".prowignore": "skip.yaml\nold/\n# comment\n", "a.yaml": "periodics:\n" + periodic("a"), "skip.yaml": "not: [valid", "old/x.yaml": "periodics:\n" + periodic("a")}, "1 periodics, 0 presubmits, 0 postsubmits"},
		{"empty file is empty config", map[string]string{"empty.yaml": "", "comments.yaml": "# nothing\n", "a.yaml": "periodics:\n" + periodic("a")}, "1 periodics, 0 presubmits, 0 postsubmits"},
		{"prow_ignored holds anchors", map[string]string{"a.yaml": "prow_ignored:\n  spec: &spec {containers: [{image: alpine, command: [date]}]}\nperiodics:\n- name: a\n  interval: 1h\n  spec: *spec\n"}, "1 periodics, 0 presubmits, 0 postsubmits"},
		{"same name on disjoint branches", map[string]string{
			"a.yaml": "presubmits:\n  o/r:\n  - name: j\n    branches: [main]\n    spec: {containers: [{image: a, command: [x]}]}\n",
			"b.yaml": "presubmits:\n  o/r:\n  - name: j\n    branches: [release-1.0]\n    spec: {containers: [{image: a, command: [x]}]}\n"}, "0 periodics, 2 presubmits, 0 postsubmits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTree(t, tc.files)
			c, _, err := Load(Options{JobConfigPath: dir})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Summary(); got != tc.want {
				t.Errorf("Summary() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"config.yaml": decorationDefaults + "decorate_all_jobs: true\n",
		"jobs/a.yaml": `presubmits:
  org/repo:
  - name: unit
    spec: {containers: [{image: golang, command: [go, test]}]}
  - name: custom
    context: ci/custom
    trigger: "(?m)^/custom"
    rerun_command: /custom
    decorate: false
    spec: {containers: [{image: golang, command: [go, test]}]}
postsubmits:
  org/repo:
  - name: push
    namespace: other
    cluster: build-east
    spec: {containers: [{image: golang, command: [make]}]}
`})
	c, _, err := Load(Options{ConfigPath: filepath.Join(dir, "config.yaml"), JobConfigPath: filepath.Join(dir, "jobs")})
	if err != nil {
		t.Fatal(err)
	}
	pre := c.PresubmitsStatic["org/repo"]
	unit, custom := pre[0], pre[1]
	if unit.Context != "unit" || unit.RerunCommand != "/test unit" || unit.Trigger != `(?m)^/test( | .* )unit,?($|\s.*)` {
		t.Errorf("unit: context %q rerun %q trigger %q", unit.Context, unit.RerunCommand, unit.Trigger)
	}
	for _, body := range []string{"/test unit", "/test all unit", "hi\n/test unit\n", "/test unit,"} {
		if !unit.TriggerMatches(body) {
			t.Errorf("trigger does not match %q", body)
		}
	}
	if unit.TriggerMatches("/test units") {
		t.Error("trigger matches /test units")
	}
	if unit.Agent != "kubernetes" || unit.Cluster != "default" || *unit.Namespace != "test-pods" {
		t.Errorf("unit: agent %q cluster %q namespace %q", unit.Agent, unit.Cluster, *unit.Namespace)
	}
	if !unit.Decorated() || unit.DecorationConfig == nil || unit.DecorationConfig.UtilityImages.Entrypoint != "e:1" {
		t.Errorf("decorate_all_jobs did not decorate unit with the defaults: %+v", unit.DecorationConfig)
	}
	if custom.Decorated() || custom.DecorationConfig != nil || custom.Context != "ci/custom" || custom.RerunCommand != "/custom" {
		t.Errorf("custom: %+v", custom)
	}
	push := c.PostsubmitsStatic["org/repo"][0]
	if push.Context != "push" || *push.Namespace != "other" || push.Cluster != "build-east" {
		t.Errorf("push: context %q namespace %q cluster %q", push.Context, *push.Namespace, push.Cluster)
	}
	if c.Plank.PodPendingTimeout.Duration.String() != "10m0s" || c.Plank.PodRunningTimeout.Duration.String() != "48h0m0s" ||
		c.Plank.PodUnscheduledTimeout.Duration.String() != "5m0s" || *c.Plank.MaxRevivals != 3 ||
		c.Sinker.MaxProwJobAge.Duration.String() != "168h0m0s" || c.Sinker.MaxPodAge.Duration.String() != "24h0m0s" ||
		c.Horologium.TickInterval.Duration.String() != "1m0s" || c.ProwJobNamespace != "default" {
		t.Errorf("prow config defaults: plank %+v sinker %+v horologium %+v", c.Plank, c.Sinker, c.Horologium)
	}
}

// TestDecorationDefaultsMergeInOrder: every matching entry applies in order, field by field, and
// the job's own decoration_config goes on top.
func TestDecorationDefaultsMergeInOrder(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"config.yaml": `plank:
  default_decoration_config_entries:
  - config:
      timeout: 2h
      utility_images: {clonerefs: c:1, initupload: i:1, entrypoint: e:1, sidecar: s:1}
      gcs_configuration: {bucket: global, path_strategy: legacy, default_org: o, default_repo: r}
      gcs_credentials_secret: gcs
  - repo: org
    config:
      gcs_configuration: {bucket: org-bucket}
  - repo: org/special
    config:
      utility_images: {sidecar: s:special}
  - cluster: east
    config:
      gcs_credentials_secret: ""
  - repo: other/repo
    config:
      timeout: 9h
`,
		"jobs.yaml": `presubmits:
  org/special:
  - name: j
    cluster: east
    decorate: true
    decoration_config:
      timeout: 3h
    spec: {containers: [{image: a, command: [x]}]}
`})
	c, _, err := Load(Options{ConfigPath: filepath.Join(dir, "config.yaml"), JobConfigPath: filepath.Join(dir, "jobs.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	dc := c.PresubmitsStatic["org/special"][0].DecorationConfig
	got := map[string]string{
		"timeout": dc.Timeout.String(), "bucket": dc.GCSConfiguration.Bucket, "path_strategy": dc.GCSConfiguration.PathStrategy,
		"default_org": dc.GCSConfiguration.DefaultOrg, "sidecar": dc.UtilityImages.Sidecar, "clonerefs": dc.UtilityImages.CloneRefs,
		"gcs_credentials_secret": *dc.GCSCredentialsSecret,
	}
	want := map[string]string{
		"timeout": "3h0m0s", "bucket": "org-bucket", "path_strategy": "legacy", "default_org": "o",
		"sidecar": "s:special", "clonerefs": "c:1", "gcs_credentials_secret": "",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged decoration config (-want +got):\n%s", diff)
	}
	// The defaults themselves are untouched by the merge.
	if c.Plank.DefaultDecorationConfigEntries[0].Config.GCSConfiguration.Bucket != "global" {
		t.Error("merging changed the global entry")
	}
}

func TestPresets(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"jobs.yaml": `presets:
- labels: {preset-creds: "true"}
  env: [{name: CREDS, value: /etc/creds/key}]
  volumes: [{name: creds, secret: {secretName: creds}}]
  volumeMounts: [{name: creds, mountPath: /etc/creds}]
- labels: {preset-creds: "true", preset-extra: "true"}
  env: [{name: EXTRA, value: "1"}]
- labels: {preset-gpu: "true"}
  tolerations: [{key: gpu, operator: Exists, effect: NoSchedule}]
periodics:
- name: with
  interval: 1h
  labels: {preset-creds: "true", preset-gpu: "true"}
  spec: {initContainers: [{name: init, image: b, command: [run], env: [{name: CREDS, value: mine}]}], containers: [{image: a, command: [x]}]}
- name: without
  interval: 1h
  spec: {containers: [{image: a, command: [x]}]}
`})
	c, _, err := Load(Options{JobConfigPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	with, without := c.Periodics[0].Spec, c.Periodics[1].Spec
	for _, ctr := range with.Containers {
		if len(ctr.Env) != 1 || ctr.Env[0].Name != "CREDS" || len(ctr.VolumeMounts) != 1 {
			t.Errorf("container %q: env %v mounts %v; want CREDS only (the second preset needs both labels)", ctr.Name, ctr.Env, ctr.VolumeMounts)
		}
	}
	// As in Prow, presets reach the containers, not the init containers: the init container's own
	// CREDS is no conflict and stays.
	if init := with.InitContainers[0]; len(init.Env) != 1 || init.Env[0].Value != "mine" || len(init.VolumeMounts) != 0 {
		t.Errorf("init container: env %v mounts %v; presets do not apply to it", init.Env, init.VolumeMounts)
	}
	if len(with.Tolerations) != 1 || with.Tolerations[0].Key != "gpu" {
		t.Errorf("tolerations %v; want the preset's gpu toleration", with.Tolerations)
	}
	if len(with.Volumes) != 1 || with.Volumes[0].Name != "creds" {
		t.Errorf("volumes %v", with.Volumes)
	}
	if len(without.Containers[0].Env) != 0 || len(without.Volumes) != 0 {
		t.Errorf("a job without the labels got the preset: %+v", without)
	}
}

func TestStrictUnknownKeys(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"config.yaml": "plank:\n  pod_pending_timeot: 5m\ntide: {}\nmystery: 1\n",
		"jobs.yaml":   "periodics:\n- name: a\n  intervl: 1h\n  interval: 1h\n  spec: {containers: [{image: a, command: [x], imagePullPolcy: Always}]}\n",
	})
	opts := Options{ConfigPath: filepath.Join(dir, "config.yaml"), JobConfigPath: filepath.Join(dir, "jobs.yaml")}
	_, warnings, err := Load(opts)
	if err != nil {
		t.Fatalf("without --strict unknown keys are warnings, got error %v", err)
	}
	var got []string
	for _, w := range warnings {
		got = append(got, w.Error())
	}
	cfg, jobs := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs.yaml")
	const msg = ": unknown key, ignored; check its spelling against Prow's config documentation, or remove it"
	want := []string{
		cfg + ":2: plank.pod_pending_timeot" + msg,
		cfg + ":4: mystery" + msg,
		jobs + ":3: periodics[0].intervl" + msg,
		jobs + ":5: periodics[0].spec.containers[0].imagePullPolcy" + msg,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	opts.Strict = true
	_, _, err = Load(opts)
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 4 {
		t.Fatalf("with --strict want 4 errors, got %v", err)
	}
}

func TestSyntaxErrorHasLine(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"bad.yaml": "periodics:\n- name: a\n  interval: [1h\n"})
	_, _, err := Load(Options{JobConfigPath: dir})
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("got %v", err)
	}
	if errs[0].File != filepath.Join(dir, "bad.yaml") || errs[0].Line == 0 || !strings.Contains(errs[0].Msg, "fix the YAML") {
		t.Errorf("got %+v", errs[0])
	}
}

// TestPlankDefaultsWithoutLoad: a config built in code, never loaded, still has Prow's deadlines.
func TestPlankDefaultsWithoutLoad(t *testing.T) {
	t.Parallel()
	var p Plank
	u, pe, r := p.PodTimeouts()
	if u != DefaultPodUnscheduledTimeout || pe != DefaultPodPendingTimeout || r != DefaultPodRunningTimeout || p.Revivals() != DefaultMaxRevivals {
		t.Errorf("defaults: %v %v %v %d", u, pe, r, p.Revivals())
	}
}
