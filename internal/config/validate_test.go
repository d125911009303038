package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidation checks each validation rule: the job config below breaks one rule, and the one
// error must name the file, line, job and field, and say what to do.
func TestValidation(t *testing.T) {
	t.Parallel()
	const spec = "    spec: {containers: [{image: a, command: [x]}]}\n"
	pre := func(extra string) string { return "presubmits:\n  org/repo:\n  - name: j\n" + extra + spec }
	per := func(extra string) string {
		return "periodics:\n- name: p\n" + extra + "  spec: {containers: [{image: a, command: [x]}]}\n"
	}
	for _, tc := range []struct {
		name, jobs, want string
		line             int
	}{
		{"bad name", "periodics:\n- name: bad/name\n  interval: 1h\n  spec: {containers: [{image: a, command: [x]}]}\n", `job "bad/name": name: must match`, 2},
		{"no schedule", per(""), `job "p": interval: a periodic needs exactly one of interval, minimum_interval and cron; it has 0`, 2},
		{"two schedules", per("  interval: 1h\n  cron: '0 * * * *'\n"), "it has 2", 3},
		{"bad interval", per("  interval: soon\n"), `interval: "soon" is not a duration`, 3},
		{"bad retry interval", per("  interval: 1h\n  retry: {attempts: 2, interval: later}\n"), `retry.interval: "later" is not a duration`, 4},
		{"bad cron", per("  cron: 'every day'\n"), `cron: "every day" is not a cron schedule`, 3},
		{"always_run and run_if_changed", pre("    always_run: true\n    run_if_changed: '^docs/'\n"), "always_run: excludes run_if_changed", 4},
		{"always_run and skip_if_only_changed", pre("    always_run: true\n    skip_if_only_changed: '^docs/'\n"), "always_run: excludes skip_if_only_changed", 4},
		{"run_if_changed and skip_if_only_changed", pre("    run_if_changed: a\n    skip_if_only_changed: b\n"), "run_if_changed: excludes skip_if_only_changed", 4},
		{"trigger without rerun_command", pre("    trigger: '/go'\n"), "trigger: trigger and rerun_command must be set together", 4},
		{"rerun does not match trigger", pre("    trigger: '^/go$'\n    rerun_command: /stop\n"), `rerun_command: "/stop" does not match trigger`, 5},
		{"bad regex", pre("    run_if_changed: '('\n"), "run_if_changed: is not a valid regular expression", 4},
		{"bad branch regex", pre("    branches: ['(']\n"), "branches: is not a valid regular expression", 4},
		{"no command when decorated", "periodics:\n- name: p\n  interval: 1h\n  decorate: true\n  spec: {containers: [{image: a}]}\n", "spec.containers[0].command: is missing; a decorated container runs its command through the entrypoint", 5},
		{"reserved volume", "periodics:\n- name: p\n  interval: 1h\n  decorate: true\n  spec:\n    volumes: [{name: logs, emptyDir: {}}]\n    containers: [{image: a, command: [x]}]\n", `spec.volumes: volume name "logs" is reserved for decoration`, 6},
		{"reserved mount path", "periodics:\n- name: p\n  interval: 1h\n  decorate: true\n  spec:\n    volumes: [{name: v, emptyDir: {}}]\n    containers: [{image: a, command: [x], volumeMounts: [{name: v, mountPath: /home/prow/go/}]}]\n", "is decoration's own mount path", 7},
		{"oauth and ssh", "periodics:\n- name: p\n  interval: 1h\n  decorate: true\n  decoration_config:\n    oauth_token_secret: {name: o, key: k}\n    ssh_key_secrets: [s]\n  spec: {containers: [{image: a, command: [x]}]}\n", "oauth_token_secret: and ssh_key_secrets are both set", 6},
		{"duplicate names on overlapping branches", "presubmits:\n  org/repo:\n  - name: j\n" + spec + "  - name: j\n    branches: [main]\n" + spec, `has another presubmit named "j"`, 5},
		{"duplicate contexts", "presubmits:\n  org/repo:\n  - name: a\n    context: ci\n" + spec + "  - name: b\n    context: ci\n" + spec, `already reports context "ci"`, 7},
		{"duplicate periodics", per("  interval: 1h\n") + "- name: p\n  interval: 2h\n  spec: {containers: [{image: a, command: [x]}]}\n", `a periodic named "p" is already defined`, 5},
		{"incomplete decoration", "periodics:\n- name: p\n  interval: 1h\n  decorate: true\n  decoration_config:\n    utility_images: {clonerefs: c, initupload: i, entrypoint: e, sidecar: s}\n    gcs_configuration: {bucket: b, path_strategy: legacy}\n  spec: {containers: [{image: a, command: [x]}]}\n", "decoration_config.gcs_configuration: path_strategy legacy needs default_org and default_repo", 7},
		{"bad path strategy", "periodics:\n- name: p\n  interval: 1h\n  decorate: true\n  decoration_config:\n    utility_images: {clonerefs: c, initupload: i, entrypoint: e, sidecar: s}\n    gcs_configuration: {bucket: b, path_strategy: flat}\n  spec: {containers: [{image: a, command: [x]}]}\n", `path_strategy: is "flat"; use one of legacy, single, explicit`, 7},
		{"no spec", "periodics:\n- name: p\n  interval: 1h\n", "spec: is missing; a job run by agent kubernetes needs a pod spec", 2},
		{"unknown queue", per("  interval: 1h\n  job_queue_name: gpu\n"), `job_queue_name: queue "gpu" has no capacity`, 4},
		{"bad label", per("  interval: 1h\n  labels: {'a b': c}\n"), "labels.a b: is not a valid label key", 4},
		{"preset conflict", "presets:\n- labels: {x: z}\n  env: [{name: A, value: b}]\nperiodics:\n- name: p\n  interval: 1h\n  labels: {x: z}\n  spec: {containers: [{image: a, command: [x], env: [{name: A, value: c}]}]}\n", "env var A from the preset with labels map[x:z] is already set", 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTree(t, map[string]string{"jobs.yaml": tc.jobs, "config.yaml": decorationDefaults})
			_, _, err := Load(Options{ConfigPath: filepath.Join(dir, "config.yaml"), JobConfigPath: filepath.Join(dir, "jobs.yaml")})
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("loaded without error; want %q", tc.want)
			}
			if len(errs) != 1 {
				t.Fatalf("want exactly one error, got:\n%v", errs)
			}
			p := errs[0]
			if !strings.Contains(p.Error(), tc.want) {
				t.Errorf("error %q does not say %q", p.Error(), tc.want)
			}
			if p.File != filepath.Join(dir, "jobs.yaml") || p.Line != tc.line {
				t.Errorf("error at %s:%d, want %s:%d", p.File, p.Line, filepath.Join(dir, "jobs.yaml"), tc.line)
			}
		})
	}
}

func TestValidationReservedEnvAndContext(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"jobs.yaml": `postsubmits:
  org/repo:
  - name: j
    spec: {containers: [{image: a, command: [x], env: [{name: PULL_BASE_SHA, value: x}]}]}
periodics:
- name: p
  interval: 1h
  spec: {containers: [{image: a, command: [x], env: [{name: PULL_BASE_SHA, value: x}, {name: BUILD_ID, value: x}]}]}
`})
	_, _, err := Load(Options{JobConfigPath: dir})
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 2 {
		t.Fatalf("want 2 errors (PULL_BASE_SHA is only reserved with refs), got %v", err)
	}
	for i, want := range []string{`jobs.yaml:4: job "j": spec.containers[0].env: PULL_BASE_SHA is set by Prowl for postsubmit jobs`, `jobs.yaml:8: job "p": spec.containers[0].env: BUILD_ID is set by Prowl for periodic jobs`} {
		if !strings.Contains(errs[i].Error(), want) {
			t.Errorf("error %d = %q, want %q", i, errs[i], want)
		}
	}
}

// TestAllErrorsCollected: loading reports every problem, in every file, not only the first.
func TestAllErrorsCollected(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"a.yaml": "periodics:\n- name: a\n  spec: {containers: [{image: a, command: [x]}]}\n- name: b/c\n  interval: 1h\n  spec: {containers: [{image: a, command: [x]}]}\n",
		"b.yaml": "periodics:\n- name: d\n  cron: nope\n  spec: {containers: [{image: a, command: [x]}]}\n",
	})
	_, _, err := Load(Options{JobConfigPath: dir})
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 3 {
		t.Fatalf("want 3 errors, got %v", err)
	}
}

// TestProwValidIsNotAnError: configs Prow accepts load; where Prowl checks more than Prow, it warns
// (naming the rule stricter-than-prow), and only --strict makes that an error.
func TestProwValidIsNotAnError(t *testing.T) {
	t.Parallel()
	const decorated = "  interval: 1h\n  decorate: true\n"
	for _, tc := range []struct {
		name, jobs, warning, want string
		line                      int
	}{
		{"nested mount below /home/prow/go", "periodics:\n- name: p\n" + decorated + "  spec:\n    volumes: [{name: cache, emptyDir: {}}]\n    containers: [{image: a, command: [x], volumeMounts: [{name: cache, mountPath: /home/prow/go/pkg}, {name: cache, mountPath: /logs/cache, subPath: l}]}]\n", "", "", 0},
		{"unknown agent", "periodics:\n- name: p\n  interval: 1h\n  agent: robot\n", WarnUnknownAgent, `agent: "robot" is an unknown agent`, 4},
		{"zero interval", "periodics:\n- name: p\n  interval: 0s\n  spec: {containers: [{image: a, command: [x]}]}\n", WarnStricterThanProw, `interval: "0s" should be a positive duration`, 3},
		{"extra ref without repo", "periodics:\n- name: p\n  interval: 1h\n  extra_refs: [{org: o, base_ref: main}]\n  spec: {containers: [{image: a, command: [x]}]}\n", WarnStricterThanProw, "extra_refs[0]: should have both org and repo", 4},
		{"repo key without org", "presubmits:\n  justrepo:\n  - name: j\n    spec: {containers: [{image: a, command: [x]}]}\n", WarnStricterThanProw, `presubmits.justrepo: should be "org/repo"`, 2},
		{"no bucket", "periodics:\n- name: p\n" + decorated + "  decoration_config:\n    gcs_configuration: {bucket: '', local_output_dir: '', path_strategy: explicit}\n  spec: {containers: [{image: a, command: [x]}]}\n", "", "", 0},
		{"decorate_all_jobs in a job file", "decorate_all_jobs: true\nperiodics:\n- name: p\n  interval: 1h\n  spec: {containers: [{image: a, command: [x]}]}\n", WarnIgnoredField, "decorate_all_jobs: is ignored in a job config file", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTree(t, map[string]string{"jobs.yaml": tc.jobs, "config.yaml": decorationDefaults})
			opts := Options{ConfigPath: filepath.Join(dir, "config.yaml"), JobConfigPath: filepath.Join(dir, "jobs.yaml")}
			_, warnings, err := Load(opts)
			if err != nil {
				t.Fatalf("a config Prow accepts is an error: %v", err)
			}
			if tc.want == "" {
				if len(warnings) > 0 {
					t.Errorf("warnings: %v", warnings)
				}
				return
			}
			if len(warnings) != 1 || warnings[0].Warning != tc.warning || !strings.Contains(warnings[0].Error(), tc.want) || warnings[0].Line != tc.line {
				t.Fatalf("want one %s warning at line %d saying %q, got %v", tc.warning, tc.line, tc.want, warnings)
			}
			opts.Strict = true
			_, _, err = Load(opts)
			var errs Errors
			if strict := tc.warning == WarnStricterThanProw; strict != errors.As(err, &errs) {
				t.Errorf("with --strict: error %v; want an error only for stricter-than-prow", err)
			}
		})
	}
}
