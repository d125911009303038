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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	knownAgents        = []string{string(prowv1.KubernetesAgent), "jenkins", "tekton-pipeline"}
	pathStrategies     = []string{"legacy", "single", "explicit"}
)

// finalize defaults every job and validates the whole config, recording each problem.
func (l *loader) finalize(c *Config) {
	c.defaultProwConfig()
	l.validateProwConfig(c)
	cache := map[string]*prowv1.DecorationConfig{}

	seenPeriodic := map[string]*Periodic{}
	for i := range c.Periodics {
		p := &c.Periodics[i]
		v := l.job(p.SourcePath, p.Name)
		c.defaultJobBase(&p.JobBase, periodicRepo(p), cache)
		c.presetsFor(v, &p.JobBase)
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
			v := l.finalizeRepoJob(c, repo, prowv1.PresubmitJob, &p.JobBase, &p.Brancher, &p.RegexpChangeMatcher, &p.Reporter, p.AlwaysRun, cache)
			if p.Trigger == "" && p.RerunCommand == "" {
				p.Trigger, p.RerunCommand = DefaultTriggerFor(p.Name), DefaultRerunCommandFor(p.Name)
			}
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
			v := l.finalizeRepoJob(c, repo, prowv1.PostsubmitJob, &p.JobBase, &p.Brancher, &p.RegexpChangeMatcher, &p.Reporter, p.AlwaysRun != nil && *p.AlwaysRun, cache)
			for _, prev := range jobs[:i] {
				if prev.Name == p.Name && prev.Intersects(&p.Brancher) {
					v.fail("name", "%s has another postsubmit named %q (in %s) on overlapping branches; rename one or make their branches disjoint", repo, p.Name, prev.SourcePath)
				}
			}
		}
	}
}

// finalizeRepoJob defaults and validates what presubmits and postsubmits share, and returns the
// job's validator for the checks of its own kind.
func (l *loader) finalizeRepoJob(c *Config, repo string, t prowv1.ProwJobType, j *JobBase, b *Brancher, m *RegexpChangeMatcher, r *Reporter, alwaysRun bool, cache map[string]*prowv1.DecorationConfig) *jobValidator {
	v := l.job(j.SourcePath, j.Name)
	c.defaultJobBase(j, repo, cache)
	if r.Context == "" {
		r.Context = j.Name
	}
	c.presetsFor(v, j)
	v.jobBase(j, t, c)
	v.brancher(b)
	v.changeMatcher(m, alwaysRun)
	v.reporter(r)
	return v
}

// checkRepoKey checks that a presubmits or postsubmits key is "org/repo".
func (l *loader) checkRepoKey(kind, repo, file string) {
	// Gerrit repos are keyed by host URL and project ("https://host/project"), so only the
	// separator is required.
	i := strings.LastIndex(repo, "/")
	if i <= 0 || i == len(repo)-1 {
		l.fail(&Problem{File: file, Field: kind + "." + repo, Msg: `must be "org/repo" (or a Gerrit "https://host/project")`})
	}
}

func (c *Config) presetsFor(v *jobValidator, j *JobBase) {
	if err := applyPresets(c.Presets, j.Labels, j.Spec); err != nil {
		v.fail("spec", "%v", err)
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
			l.fail(&Problem{File: file, Field: "plank.job_queue_capacities." + q, Msg: "must be 0 or more"})
		}
	}
	if c.Plank.MaxConcurrency < 0 {
		l.fail(&Problem{File: file, Field: "plank.max_concurrency", Msg: "must be 0 (no limit) or more"})
	}
	for i, e := range c.Plank.DefaultDecorationConfigEntries {
		if e.Config == nil {
			l.fail(&Problem{File: file, Field: fmt.Sprintf("plank.default_decoration_config_entries[%d].config", i), Msg: "is missing; give the entry a config or remove it"})
		}
	}
}

// jobValidator records the problems of one job.
type jobValidator struct {
	l          *loader
	file, name string
	occurrence int
}

func (l *loader) job(file, name string) *jobValidator {
	key := file + "\x00" + name
	n := l.seen[key]
	if l.seen == nil {
		l.seen = map[string]int{}
	}
	l.seen[key] = n + 1
	return &jobValidator{l: l, file: file, name: name, occurrence: n}
}

func (v *jobValidator) fail(field, format string, args ...any) {
	v.l.fail(&Problem{File: v.file, Job: v.name, Field: field, Msg: fmt.Sprintf(format, args...), occurrence: v.occurrence})
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
	if !slices.Contains(knownAgents, j.Agent) {
		v.fail("agent", "%q is not an agent; use one of %s", j.Agent, strings.Join(knownAgents, ", "))
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
			v.fail(fmt.Sprintf("extra_refs[%d]", i), "needs both org and repo")
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
			for _, p := range reservedMountPaths {
				if pathOverlaps(m.MountPath, p) {
					v.fail(field+".volumeMounts", "mount %s at %s overlaps decoration's mount at %s; mount it elsewhere", m.Name, m.MountPath, p)
				}
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

// pathOverlaps reports whether one path is the other or lies below it.
func pathOverlaps(a, b string) bool {
	a, b = path.Clean(a), path.Clean(b)
	return a == b || strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
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
		v.fail("decoration_config.gcs_configuration.bucket", "is missing; %s", fix)
	}
	if !slices.Contains(pathStrategies, gcs.PathStrategy) {
		v.fail("decoration_config.gcs_configuration.path_strategy", "is %q; use one of legacy, single, explicit", gcs.PathStrategy)
	} else if gcs.PathStrategy != "explicit" && (gcs.DefaultOrg == "" || gcs.DefaultRepo == "") {
		v.fail("decoration_config.gcs_configuration", "path_strategy %s needs default_org and default_repo; set them, or use path_strategy explicit", gcs.PathStrategy)
	}
	for name, d := range map[string]*metav1.Duration{"timeout": dc.Timeout, "grace_period": dc.GracePeriod} {
		if d != nil && d.Duration < 0 {
			v.fail("decoration_config."+name, "must not be negative")
		}
	}
}

func (v *jobValidator) schedule(p *Periodic) {
	set := 0
	if p.Interval != "" {
		set++
		d, err := time.ParseDuration(p.Interval)
		if err != nil || d <= 0 {
			v.fail("interval", "%q is not a positive duration like 30m or 2h", p.Interval)
		}
		p.interval = d
	}
	if p.MinimumInterval != "" {
		set++
		d, err := time.ParseDuration(p.MinimumInterval)
		if err != nil || d <= 0 {
			v.fail("minimum_interval", "%q is not a positive duration like 30m or 2h", p.MinimumInterval)
		}
		p.minimumInterval = d
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
