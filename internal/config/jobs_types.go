package config

import (
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// JobConfig is what job config files hold (and the prow config file may hold too): presets and
// jobs. Keys are Prow's.
type JobConfig struct {
	// Presets add env, volumes and volumeMounts to the jobs whose labels match all of theirs.
	Presets []Preset `json:"presets,omitempty"`
	// PresubmitsStatic are the presubmits per "org/repo".
	PresubmitsStatic map[string][]Presubmit `json:"presubmits,omitempty"`
	// PostsubmitsStatic are the postsubmits per "org/repo".
	PostsubmitsStatic map[string][]Postsubmit `json:"postsubmits,omitempty"`
	// Periodics run on a schedule.
	Periodics []Periodic `json:"periodics,omitempty"`
	// DecorateAllJobs decorates every job that does not say decorate: false.
	DecorateAllJobs bool `json:"decorate_all_jobs,omitempty"`
	// ProwIgnored holds YAML anchors for use elsewhere in the file; it is otherwise ignored.
	ProwIgnored *runtime.RawExtension `json:"prow_ignored,omitempty"`
}

// Preset is env and volumeMounts that every container of a matching job gets, and volumes and
// tolerations its Pod gets.
type Preset struct {
	Labels       map[string]string    `json:"labels"`
	Env          []corev1.EnvVar      `json:"env,omitempty"`
	Volumes      []corev1.Volume      `json:"volumes,omitempty"`
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`
	Tolerations  []corev1.Toleration  `json:"tolerations,omitempty"`
}

// JobBase holds the fields every kind of job has.
type JobBase struct {
	Name            string                  `json:"name"`
	Labels          map[string]string       `json:"labels,omitempty"`
	Annotations     map[string]string       `json:"annotations,omitempty"`
	MaxConcurrency  int                     `json:"max_concurrency,omitempty"`
	Agent           string                  `json:"agent,omitempty"`
	Cluster         string                  `json:"cluster,omitempty"`
	Namespace       *string                 `json:"namespace,omitempty"`
	ErrorOnEviction bool                    `json:"error_on_eviction,omitempty"`
	Spec            *corev1.PodSpec         `json:"spec,omitempty"`
	ReporterConfig  *prowv1.ReporterConfig  `json:"reporter_config,omitempty"`
	RerunAuthConfig *prowv1.RerunAuthConfig `json:"rerun_auth_config,omitempty"`
	Hidden          bool                    `json:"hidden,omitempty"`
	ProwJobDefault  *prowv1.ProwJobDefault  `json:"prowjob_defaults,omitempty"`
	JobQueueName    string                  `json:"job_queue_name,omitempty"`
	// Agents Prowl does not run; kept so that configs that use them load unchanged.
	PipelineRunSpec       *runtime.RawExtension `json:"pipeline_run_spec,omitempty"`
	TektonPipelineRunSpec *runtime.RawExtension `json:"tekton_pipeline_run_spec,omitempty"`

	UtilityConfig `json:",inline"`

	// SourcePath is the file the job came from.
	SourcePath string `json:"-"`
}

// UtilityConfig says how the pod utilities clone and decorate the job.
type UtilityConfig struct {
	Decorate         *bool                    `json:"decorate,omitempty"`
	PathAlias        string                   `json:"path_alias,omitempty"`
	CloneURI         string                   `json:"clone_uri,omitempty"`
	SkipSubmodules   bool                     `json:"skip_submodules,omitempty"`
	CloneDepth       int                      `json:"clone_depth,omitempty"`
	SkipFetchHead    bool                     `json:"skip_fetch_head,omitempty"`
	ExtraRefs        []prowv1.Refs            `json:"extra_refs,omitempty"`
	DecorationConfig *prowv1.DecorationConfig `json:"decoration_config,omitempty"`
}

// Decorated reports whether the job runs with the pod utilities (after defaulting).
func (u UtilityConfig) Decorated() bool { return u.Decorate != nil && *u.Decorate }

// Periodic is a job that runs on a schedule: exactly one of Interval, MinimumInterval and Cron.
type Periodic struct {
	JobBase         `json:",inline"`
	Interval        string   `json:"interval,omitempty"`
	MinimumInterval string   `json:"minimum_interval,omitempty"`
	Cron            string   `json:"cron,omitempty"`
	Tags            []string `json:"tags,omitempty"`
	// Retry reruns a failed periodic. Prowl keeps it but does not retry yet; checkconfig warns.
	Retry *Retry `json:"retry,omitempty"`

	interval        time.Duration
	minimumInterval time.Duration
	schedule        cron.Schedule
}

// Retry says how a failed periodic is rerun: up to Attempts times, Interval apart, and with RunAll
// every attempt even after one succeeds.
type Retry struct {
	RunAll   bool   `json:"run_all,omitempty"`
	Attempts int    `json:"attempts,omitempty"`
	Interval string `json:"interval,omitempty"`

	interval time.Duration
}

// GetInterval is the parsed retry interval.
func (r *Retry) GetInterval() time.Duration { return r.interval }

// GetInterval is the parsed interval (zero unless Interval is set).
func (p *Periodic) GetInterval() time.Duration { return p.interval }

// GetMinimumInterval is the parsed minimum_interval (zero unless MinimumInterval is set).
func (p *Periodic) GetMinimumInterval() time.Duration { return p.minimumInterval }

// Schedule is the parsed cron schedule, in UTC (nil unless Cron is set).
func (p *Periodic) Schedule() cron.Schedule { return p.schedule }

// Brancher says which base branches a job runs against.
type Brancher struct {
	Branches     []string `json:"branches,omitempty"`
	SkipBranches []string `json:"skip_branches,omitempty"`

	branches     *regexp.Regexp
	skipBranches *regexp.Regexp
}

// ShouldRun reports whether a job with this brancher runs against branch.
func (b *Brancher) ShouldRun(branch string) bool {
	if b.skipBranches != nil && b.skipBranches.MatchString(branch) {
		return false
	}
	if b.branches != nil {
		return b.branches.MatchString(branch)
	}
	return true
}

// Intersects reports whether two branchers may both run against one branch, as Prow decides it:
// a brancher with neither list runs everywhere; two branch lists intersect when they share a
// literal entry; a branch list meets a skip list when one of its branches is not skipped.
func (b *Brancher) Intersects(o *Brancher) bool {
	if b.runsEverywhere() || o.runsEverywhere() {
		return true
	}
	if len(b.Branches) > 0 {
		if len(o.Branches) > 0 {
			for _, br := range b.Branches {
				if slices.Contains(o.Branches, br) {
					return true
				}
			}
			return false
		}
		for _, br := range b.Branches {
			if o.ShouldRun(br) {
				return true
			}
		}
		return false
	}
	if len(o.Branches) == 0 {
		return true // both only skip branches: some branch is left to both
	}
	return o.Intersects(b)
}

func (b *Brancher) runsEverywhere() bool { return len(b.Branches) == 0 && len(b.SkipBranches) == 0 }

// RegexpChangeMatcher runs a job only when the changed files match.
type RegexpChangeMatcher struct {
	RunIfChanged      string `json:"run_if_changed,omitempty"`
	SkipIfOnlyChanged string `json:"skip_if_only_changed,omitempty"`

	runIfChanged      *regexp.Regexp
	skipIfOnlyChanged *regexp.Regexp
}

// CouldRun reports whether the job's files-changed rule is set at all.
func (m *RegexpChangeMatcher) CouldRun() bool {
	return m.RunIfChanged != "" || m.SkipIfOnlyChanged != ""
}

// ShouldRunForFiles reports whether the changed files start the job. It is only meaningful when
// CouldRun is true.
func (m *RegexpChangeMatcher) ShouldRunForFiles(files []string) bool {
	switch {
	case m.runIfChanged != nil:
		for _, f := range files {
			if m.runIfChanged.MatchString(f) {
				return true
			}
		}
		return false
	case m.skipIfOnlyChanged != nil:
		for _, f := range files {
			if !m.skipIfOnlyChanged.MatchString(f) {
				return true
			}
		}
		return false
	}
	return true
}

// Reporter says where a job's result is reported.
type Reporter struct {
	Context    string `json:"context,omitempty"`
	SkipReport bool   `json:"skip_report,omitempty"`
}

// Presubmit runs on pull requests.
type Presubmit struct {
	JobBase             `json:",inline"`
	AlwaysRun           bool   `json:"always_run,omitempty"`
	Optional            bool   `json:"optional,omitempty"`
	Trigger             string `json:"trigger,omitempty"`
	RerunCommand        string `json:"rerun_command,omitempty"`
	RunBeforeMerge      bool   `json:"run_before_merge,omitempty"`
	Brancher            `json:",inline"`
	RegexpChangeMatcher `json:",inline"`
	Reporter            `json:",inline"`
	JenkinsSpec         *runtime.RawExtension `json:"jenkins_spec,omitempty"`

	trigger *lazyRegexp
}

// TriggerMatches reports whether a comment body starts this presubmit.
func (p *Presubmit) TriggerMatches(body string) bool {
	return p.trigger != nil && p.trigger.get().MatchString(body)
}

// lazyRegexp compiles a pattern, already validated, when it is first used. It is shared by pointer
// so that copies of a job share one compiled pattern.
type lazyRegexp struct {
	expr string
	once sync.Once
	re   *regexp.Regexp
}

func (l *lazyRegexp) get() *regexp.Regexp {
	l.once.Do(func() { l.re = regexp.MustCompile(l.expr) })
	return l.re
}

// Postsubmit runs on pushes to branches.
type Postsubmit struct {
	JobBase             `json:",inline"`
	AlwaysRun           *bool `json:"always_run,omitempty"`
	Brancher            `json:",inline"`
	RegexpChangeMatcher `json:",inline"`
	Reporter            `json:",inline"`
	JenkinsSpec         *runtime.RawExtension `json:"jenkins_spec,omitempty"`
}
