package config

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/util/validation"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/downwardapi"
)

var jobNameRegex = regexp.MustCompile(`^[A-Za-z0-9-._]+$`)

// cronParser reads Prow's cron strings: five fields, or six with seconds first, or a descriptor.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Names and paths the decoration owns; a decorated job may not use them.
var (
	reservedVolumes    = []string{"logs", "tools", "code"}
	reservedMountPaths = []string{"/logs", "/tools", "/home/prow/go"}
	pathStrategies     = []string{"legacy", "single", "explicit"}
)

// Warning names: each warning says which kind it is, so that checkconfig can select warnings by
// name as Prow's --warnings and --exclude-warning do.
const (
	// WarnUnknownFields is a key the config's types lack (Prow's unknown-fields).
	WarnUnknownFields = "unknown-fields"
	// WarnUnknownFieldsAll is a key the job config's types lack (Prow's unknown-fields-all).
	WarnUnknownFieldsAll = "unknown-fields-all"
	// WarnStricterThanProw is a rule Prowl checks that Prow does not: the config is valid for Prow,
	// so it stays valid for Prowl, and --strict makes it an error.
	WarnStricterThanProw = "stricter-than-prow"
	// WarnIgnoredField is a field Prow reads that Prowl keeps but cannot act on yet.
	WarnIgnoredField = "ignored-fields"
	// WarnNoJobFiles is a job config path that holds no job file.
	WarnNoJobFiles = "no-job-files"
	// WarnUnknownAgent is a job whose agent neither Prow nor Prowl knows; Prow warns of it too.
	WarnUnknownAgent = "unknown-agent"
)

// stricterNote ends every stricter-than-Prow message.
const stricterNote = " (Prow accepts this, so Prowl only warns; --strict makes it an error)"

// validateJobs checks every job, already defaulted, recording each problem.
func (l *loader) validateJobs(c *Config) {
	seenPeriodic := map[string]*Periodic{}
	for i := range c.Periodics {
		p := &c.Periodics[i]
		v := l.job(&p.JobBase)
		v.jobBase(&p.JobBase, prowv1.PeriodicJob, c)
		v.schedule(p)
		if prev, ok := seenPeriodic[p.Name]; ok && p.Name != "" {
			v.fail("name", "a periodic named %q is already defined in %s; periodic names must be unique", p.Name, prev.SourcePath)
		}
		seenPeriodic[p.Name] = p
	}
	for _, repo := range SortedKeys(c.PresubmitsStatic) {
		jobs := c.PresubmitsStatic[repo]
		if len(jobs) == 0 {
			continue
		}
		l.checkRepoKey("presubmits", repo, jobs[0].SourcePath)
		for i := range jobs {
			p := &jobs[i]
			v := l.validateRepoJob(c, prowv1.PresubmitJob, &p.JobBase, &p.Brancher, &p.RegexpChangeMatcher, &p.Reporter, p.AlwaysRun)
			v.trigger(p)
			for _, prev := range jobs[:i] {
				if prev.Name == p.Name && prev.Intersects(&p.Brancher) {
					v.fail("name", "%s has another presubmit named %q (in %s) on overlapping branches; rename one or make their branches disjoint", repo, p.Name, prev.SourcePath)
				} else if !p.SkipReport && !prev.SkipReport && prev.Context == p.Context && prev.Name != p.Name && prev.Intersects(&p.Brancher) {
					v.fail("context", "presubmit %q (in %s) of %s already reports context %q on overlapping branches; give each job its own context", prev.Name, prev.SourcePath, repo, p.Context)
				}
			}
		}
	}
	for _, repo := range SortedKeys(c.PostsubmitsStatic) {
		jobs := c.PostsubmitsStatic[repo]
		if len(jobs) == 0 {
			continue
		}
		l.checkRepoKey("postsubmits", repo, jobs[0].SourcePath)
		for i := range jobs {
			p := &jobs[i]
			v := l.validateRepoJob(c, prowv1.PostsubmitJob, &p.JobBase, &p.Brancher, &p.RegexpChangeMatcher, &p.Reporter, p.AlwaysRun != nil && *p.AlwaysRun)
			for _, prev := range jobs[:i] {
				if prev.Name == p.Name && prev.Intersects(&p.Brancher) {
					v.fail("name", "%s has another postsubmit named %q (in %s) on overlapping branches; rename one or make their branches disjoint", repo, p.Name, prev.SourcePath)
				}
			}
		}
	}
}

// validateRepoJob checks what presubmits and postsubmits share, and returns the job's validator
// for the checks of its own kind.
func (l *loader) validateRepoJob(c *Config, t prowv1.ProwJobType, j *JobBase, b *Brancher, m *RegexpChangeMatcher, r *Reporter, alwaysRun bool) *jobValidator {
	v := l.job(j)
	v.jobBase(j, t, c)
	v.brancher(b)
	v.changeMatcher(m, alwaysRun)
	v.reporter(r)
	return v
}

// checkRepoKey checks that a presubmits or postsubmits key is "org/repo". Prow does not check it,
// so a key of another shape is a stricter-than-Prow warning.
func (l *loader) checkRepoKey(kind, repo, file string) {
	// Gerrit repos are keyed by host URL and project ("https://host/project"), so only the
	// separator is required.
	i := strings.LastIndex(repo, "/")
	if i <= 0 || i == len(repo)-1 {
		l.stricter(&Problem{File: file, Field: kind + "." + repo, Msg: `should be "org/repo" (or a Gerrit "https://host/project"); no repository event can match it` + stricterNote})
	}
}

func (l *loader) validateProwConfig(c *Config) {
	file := l.opts.ConfigPath
	if t := c.Plank.JobURLTemplate; t != "" {
		if _, err := template.New("job_url_template").Parse(t); err != nil {
			l.fail(&Problem{File: file, Field: "plank.job_url_template", Msg: fmt.Sprintf("is not a valid Go template: %v", err)})
		}
	}
	for k, t := range c.Plank.ReportTemplates {
		if _, err := template.New("report_template").Parse(t); err != nil {
			l.fail(&Problem{File: file, Field: "plank.report_templates." + k, Msg: fmt.Sprintf("is not a valid Go template: %v", err)})
		}
	}
	for q, n := range c.Plank.JobQueueCapacities {
		if n < 0 {
			l.stricter(&Problem{File: file, Field: "plank.job_queue_capacities." + q, Msg: "should be 0 or more" + stricterNote})
		}
	}
	if c.Plank.MaxConcurrency < 0 {
		l.fail(&Problem{File: file, Field: "plank.max_concurrency", Msg: "must be 0 (no limit) or more"})
	}
	l.validateDeck(c)
	for i, e := range c.Plank.DefaultDecorationConfigEntries {
		if e.Config == nil {
			l.stricter(&Problem{File: file, Field: fmt.Sprintf("plank.default_decoration_config_entries[%d].config", i), Msg: "is missing, so the entry does nothing; give it a config or remove it" + stricterNote})
		}
	}
}

// jobValidator records the problems of one job.
type jobValidator struct {
	l          *loader
	file, name string
	occurrence int
}

// job returns the validator of one job, the same one for defaulting and validation, so that its
// occurrence (which job of this name in its file it is) is counted once.
func (l *loader) job(j *JobBase) *jobValidator {
	if v, ok := l.validators[j]; ok {
		return v
	}
	if l.seen == nil {
		l.seen = map[string]int{}
		l.validators = map[*JobBase]*jobValidator{}
	}
	key := j.SourcePath + "\x00" + j.Name
	n := l.seen[key]
	l.seen[key] = n + 1
	v := &jobValidator{l: l, file: j.SourcePath, name: j.Name, occurrence: n}
	l.validators[j] = v
	return v
}

func (v *jobValidator) problem(field, format string, args ...any) *Problem {
	return &Problem{File: v.file, Job: v.name, Field: field, Msg: fmt.Sprintf(format, args...), occurrence: v.occurrence}
}

func (v *jobValidator) fail(field, format string, args ...any) {
	v.l.fail(v.problem(field, format, args...))
}

// stricter records a rule Prow does not have: a warning, or an error with --strict.
func (v *jobValidator) stricter(field, format string, args ...any) {
	v.l.stricter(v.problem(field, format+stricterNote, args...))
}

// warn records a warning of the given name.
func (v *jobValidator) warn(name, field, format string, args ...any) {
	p := v.problem(field, format, args...)
	p.Warning = name
	v.l.warn(p)
}

// regexp compiles expr once per load: many jobs share their branch and file patterns, and a
// compiled Regexp is safe to share.
func (v *jobValidator) regexp(field, expr string) *regexp.Regexp {
	v.l.mu.Lock()
	c, ok := v.l.regexps[expr]
	v.l.mu.Unlock()
	if !ok {
		c.re, c.err = regexp.Compile(expr)
		v.l.mu.Lock()
		if v.l.regexps == nil {
			v.l.regexps = map[string]compiled{}
		}
		v.l.regexps[expr] = c
		v.l.mu.Unlock()
	}
	if c.err != nil {
		v.fail(field, "is not a valid regular expression: %v", c.err)
		return nil
	}
	return c.re
}

type compiled struct {
	re  *regexp.Regexp
	err error
}

func (v *jobValidator) jobBase(j *JobBase, t prowv1.ProwJobType, c *Config) {
	switch {
	case j.Name == "":
		v.fail("name", "is missing; every job needs a name")
	case !jobNameRegex.MatchString(j.Name):
		v.fail("name", "must match %s (letters, digits, '-', '.', '_')", jobNameRegex)
	}
	if j.MaxConcurrency < 0 {
		v.fail("max_concurrency", "must be 0 (no limit) or more")
	}
	if !slices.Contains(prowv1.KnownAgents, prowv1.ProwJobAgent(j.Agent)) {
		v.warn(WarnUnknownAgent, "agent", "%q is an unknown agent: no Prowl component runs the job (known: %s)", j.Agent, prowv1.KnownAgentList())
	}
	if j.JobQueueName != "" {
		if _, ok := c.Plank.JobQueueCapacities[j.JobQueueName]; !ok {
			v.fail("job_queue_name", "queue %q has no capacity in plank.job_queue_capacities; add it there", j.JobQueueName)
		}
	}
	for k, val := range j.Labels {
		for _, msg := range validation.IsQualifiedName(k) {
			v.fail("labels."+k, "is not a valid label key: %s", msg)
		}
		for _, msg := range validation.IsValidLabelValue(val) {
			v.fail("labels."+k, "value %q is not a valid label value: %s", val, msg)
		}
	}
	for i, r := range j.ExtraRefs {
		if r.Org == "" || r.Repo == "" {
			v.stricter(fmt.Sprintf("extra_refs[%d]", i), "should have both org and repo, or it cannot be cloned")
		}
	}
	if j.Agent != string(prowv1.KubernetesAgent) {
		return
	}
	if j.Spec == nil {
		v.fail("spec", "is missing; a job run by agent kubernetes needs a pod spec")
		return
	}
	v.podSpec(j, t)
	if j.Decorated() {
		v.decoration(j.DecorationConfig)
	}
}

func (v *jobValidator) podSpec(j *JobBase, t prowv1.ProwJobType) {
	spec := j.Spec
	switch {
	case len(spec.Containers) == 0:
		v.fail("spec.containers", "is empty; a job needs one container")
		return
	case len(spec.Containers) > 1 && !j.Decorated():
		v.fail("spec.containers", "has %d containers; only decorated jobs may have more than one", len(spec.Containers))
	}
	reservedEnv := downwardapi.EnvNamesForType(t)
	for i, ctr := range spec.Containers {
		field := fmt.Sprintf("spec.containers[%d]", i)
		if len(spec.Containers) > 1 && ctr.Name == "" {
			v.fail(field+".name", "is missing; each of several containers needs a name")
		}
		for _, e := range ctr.Env {
			if slices.Contains(reservedEnv, e.Name) {
				v.fail(field+".env", "%s is set by Prowl for %s jobs; remove it from the job", e.Name, t)
			}
		}
		if !j.Decorated() {
			continue
		}
		if len(ctr.Command) == 0 && len(ctr.Args) == 0 {
			v.fail(field+".command", "is missing; a decorated container runs its command through the entrypoint, so set command (or args)")
		}
		for _, m := range ctr.VolumeMounts {
			if slices.Contains(reservedVolumes, m.Name) {
				v.fail(field+".volumeMounts", "volume name %q is reserved for decoration; rename it", m.Name)
			}
			// Prow refuses only decoration's exact mount paths: a mount below one (a module cache
			// at /home/prow/go/pkg) is nested inside it by Kubernetes, and is fine.
			if slices.Contains(reservedMountPaths, path.Clean(m.MountPath)) {
				v.fail(field+".volumeMounts", "mount %s at %s is decoration's own mount path; mount it elsewhere (a path below it is fine)", m.Name, m.MountPath)
			}
		}
	}
	if j.Decorated() {
		for _, vol := range spec.Volumes {
			if slices.Contains(reservedVolumes, vol.Name) {
				v.fail("spec.volumes", "volume name %q is reserved for decoration; rename it", vol.Name)
			}
		}
	}
}

func (v *jobValidator) decoration(dc *prowv1.DecorationConfig) {
	const fix = "set it in the job's decoration_config or in plank.default_decoration_config_entries"
	if dc == nil {
		v.fail("decoration_config", "is missing for a decorated job; %s", fix)
		return
	}
	ui := dc.UtilityImages
	if ui == nil {
		ui = &prowv1.UtilityImages{}
	}
	for name, img := range map[string]string{"clonerefs": ui.CloneRefs, "initupload": ui.InitUpload, "entrypoint": ui.Entrypoint, "sidecar": ui.Sidecar} {
		if img == "" {
			v.fail("decoration_config.utility_images."+name, "is missing; %s", fix)
		}
	}
	gcs := dc.GCSConfiguration
	if gcs == nil {
		v.fail("decoration_config.gcs_configuration", "is missing; %s", fix)
		return
	}
	if gcs.Bucket == "" && gcs.LocalOutputDir == "" {
		v.stricter("decoration_config.gcs_configuration.bucket", "is missing, so nothing can be uploaded; %s", fix)
	}
	if !slices.Contains(pathStrategies, gcs.PathStrategy) {
		v.fail("decoration_config.gcs_configuration.path_strategy", "is %q; use one of legacy, single, explicit", gcs.PathStrategy)
	} else if gcs.PathStrategy != "explicit" && (gcs.DefaultOrg == "" || gcs.DefaultRepo == "") {
		v.fail("decoration_config.gcs_configuration", "path_strategy %s needs default_org and default_repo; set them, or use path_strategy explicit", gcs.PathStrategy)
	}
	for name, d := range map[string]*prowv1.Duration{"timeout": dc.Timeout, "grace_period": dc.GracePeriod} {
		if d != nil && d.Duration < 0 {
			v.stricter("decoration_config."+name, "should not be negative")
		}
	}
	if dc.OauthTokenSecret != nil && len(dc.SSHKeySecrets) > 0 {
		v.fail("decoration_config.oauth_token_secret", "and ssh_key_secrets are both set; clone with one of them")
	}
}

func (v *jobValidator) schedule(p *Periodic) {
	set := 0
	if p.Interval != "" {
		set++
		p.interval = v.duration("interval", p.Interval)
	}
	if p.MinimumInterval != "" {
		set++
		p.minimumInterval = v.duration("minimum_interval", p.MinimumInterval)
	}
	if p.Retry != nil {
		p.Retry.interval = v.duration("retry.interval", p.Retry.Interval)
	}
	if p.Cron != "" {
		set++
		s, err := cronParser.Parse(p.Cron)
		if err != nil {
			v.fail("cron", "%q is not a cron schedule (minute hour day month weekday, in UTC): %v", p.Cron, err)
		}
		p.schedule = s
	}
	if set != 1 {
		v.fail("interval", "a periodic needs exactly one of interval, minimum_interval and cron; it has %d", set)
	}
}

// duration parses a Go duration: one that does not parse is an error, as in Prow; zero or
// negative is a stricter-than-Prow warning.
func (v *jobValidator) duration(field, s string) time.Duration {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		v.fail(field, "%q is not a duration like 30m or 2h", s)
	case d <= 0:
		v.stricter(field, "%q should be a positive duration like 30m or 2h", s)
	}
	return d
}

func (v *jobValidator) brancher(b *Brancher) {
	if len(b.Branches) > 0 {
		b.branches = v.regexp("branches", `^(?:`+strings.Join(b.Branches, "|")+`)$`)
	}
	if len(b.SkipBranches) > 0 {
		b.skipBranches = v.regexp("skip_branches", `^(?:`+strings.Join(b.SkipBranches, "|")+`)$`)
	}
}

func (v *jobValidator) changeMatcher(m *RegexpChangeMatcher, alwaysRun bool) {
	switch {
	case alwaysRun && m.RunIfChanged != "":
		v.fail("always_run", "excludes run_if_changed; keep one")
	case alwaysRun && m.SkipIfOnlyChanged != "":
		v.fail("always_run", "excludes skip_if_only_changed; keep one")
	case m.RunIfChanged != "" && m.SkipIfOnlyChanged != "":
		v.fail("run_if_changed", "excludes skip_if_only_changed; keep one")
	}
	if m.RunIfChanged != "" {
		m.runIfChanged = v.regexp("run_if_changed", m.RunIfChanged)
	}
	if m.SkipIfOnlyChanged != "" {
		m.skipIfOnlyChanged = v.regexp("skip_if_only_changed", m.SkipIfOnlyChanged)
	}
}

func (v *jobValidator) trigger(p *Presubmit) {
	if (p.Trigger == "") != (p.RerunCommand == "") {
		v.fail("trigger", "trigger and rerun_command must be set together (or both left out for /test %s)", p.Name)
		return
	}
	if p.Trigger == DefaultTriggerFor(p.Name) && p.RerunCommand == DefaultRerunCommandFor(p.Name) {
		// The default trigger of a valid name compiles and matches its rerun command; it is
		// compiled when first used, which keeps loading thousands of presubmits cheap.
		p.trigger = &lazyRegexp{expr: p.Trigger}
		return
	}
	re := v.regexp("trigger", p.Trigger)
	if re == nil {
		return
	}
	p.trigger = &lazyRegexp{expr: p.Trigger, re: re}
	p.trigger.once.Do(func() {})
	if !re.MatchString(p.RerunCommand) {
		v.fail("rerun_command", "%q does not match trigger %q; a rerun must start the job", p.RerunCommand, p.Trigger)
	}
}

func (v *jobValidator) reporter(r *Reporter) {
	if !r.SkipReport && r.Context == "" {
		v.fail("context", "is missing for a job that reports; set context or skip_report: true")
	}
}
