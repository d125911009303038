package config

import (
	"fmt"
	"maps"
	"reflect"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// DefaultTriggerFor is the comment regexp that starts a presubmit that sets none: /test <name>.
func DefaultTriggerFor(name string) string {
	return fmt.Sprintf(`(?m)^/test( | .* )%s,?($|\s.*)`, name)
}

// DefaultRerunCommandFor is the comment that reruns a presubmit that sets none.
func DefaultRerunCommandFor(name string) string { return "/test " + name }

// defaultProwConfig fills in what Prow fills in for an unset prow config.
func (c *Config) defaultProwConfig() {
	if c.ProwJobNamespace == "" {
		c.ProwJobNamespace = DefaultProwJobNamespace
	}
	if c.PodNamespace == "" {
		c.PodNamespace = DefaultPodNamespace
	}
	setDuration(&c.Plank.PodPendingTimeout, DefaultPodPendingTimeout)
	setDuration(&c.Plank.PodRunningTimeout, DefaultPodRunningTimeout)
	setDuration(&c.Plank.PodUnscheduledTimeout, DefaultPodUnscheduledTimeout)
	if c.Plank.MaxRevivals == nil {
		n := DefaultMaxRevivals
		c.Plank.MaxRevivals = &n
	}
	setDuration(&c.Sinker.ResyncPeriod, DefaultResyncPeriod)
	setDuration(&c.Sinker.MaxProwJobAge, DefaultMaxProwJobAge)
	setDuration(&c.Sinker.MaxPodAge, DefaultMaxPodAge)
	// As in Prow, a terminated Pod lives as long as any Pod unless said otherwise.
	setDuration(&c.Sinker.TerminatedPodTTL, c.Sinker.MaxPodAge.Duration)
	setDuration(&c.Horologium.TickInterval, DefaultTickInterval)
	if len(c.GitHubReporter.JobTypesToReport) == 0 {
		c.GitHubReporter.JobTypesToReport = []prowv1.ProwJobType{prowv1.PresubmitJob, prowv1.PostsubmitJob}
	}
	// The older map form becomes entries: the global one first, then orgs, then org/repos.
	if len(c.Plank.DefaultDecorationConfigs) > 0 {
		keys := SortedKeys(c.Plank.DefaultDecorationConfigs)
		sort.SliceStable(keys, func(i, j int) bool { return specificity(keys[i]) < specificity(keys[j]) })
		var entries []DefaultDecorationConfigEntry
		for _, k := range keys {
			entries = append(entries, DefaultDecorationConfigEntry{OrgRepo: k, Config: c.Plank.DefaultDecorationConfigs[k]})
		}
		c.Plank.DefaultDecorationConfigEntries = append(entries, c.Plank.DefaultDecorationConfigEntries...)
	}
}

func specificity(orgRepo string) int {
	switch {
	case orgRepo == "*" || orgRepo == "":
		return 0
	case !strings.Contains(orgRepo, "/"):
		return 1
	}
	return 2
}

func setDuration(d **metav1.Duration, def time.Duration) {
	if *d == nil {
		*d = &metav1.Duration{Duration: def}
	}
}

func (e DefaultDecorationConfigEntry) matches(repo, cluster string) bool {
	repoOK := e.OrgRepo == "" || e.OrgRepo == "*" || e.OrgRepo == repo ||
		(!strings.Contains(e.OrgRepo, "/") && strings.HasPrefix(repo, e.OrgRepo+"/"))
	clusterOK := e.Cluster == "" || e.Cluster == "*" || e.Cluster == cluster
	return repoOK && clusterOK
}

// DecorationDefaults merges, in order, every default_decoration_config_entries entry that matches
// the repo ("org/repo", or "" for a periodic without extra_refs) and cluster; a later entry's set
// fields win over an earlier one's.
func (p *Plank) DecorationDefaults(repo, cluster string) *prowv1.DecorationConfig {
	var merged *prowv1.DecorationConfig
	for _, e := range p.DefaultDecorationConfigEntries {
		if e.Config != nil && e.matches(repo, cluster) {
			merged = MergeDecorationConfig(e.Config, merged)
		}
	}
	return merged
}

// MergeDecorationConfig returns a new config with every field of c, and def's value wherever c
// leaves a field unset. Nested Prow structs (utility_images, gcs_configuration, resources,
// censoring_options) merge field by field; other values are taken whole. Neither input changes.
func MergeDecorationConfig(c, def *prowv1.DecorationConfig) *prowv1.DecorationConfig {
	switch {
	case c == nil && def == nil:
		return nil
	case c == nil:
		return def.DeepCopy()
	case def == nil:
		return c.DeepCopy()
	}
	out := c.DeepCopy()
	mergeStruct(reflect.ValueOf(out).Elem(), reflect.ValueOf(def.DeepCopy()).Elem())
	// Prow merges gcs_configuration.mediaTypes key by key, the default's value winning a key
	// both set (GCSConfiguration.ApplyDefault's maps.Copy).
	if c.GCSConfiguration != nil && def.GCSConfiguration != nil && len(c.GCSConfiguration.MediaTypes) > 0 && len(def.GCSConfiguration.MediaTypes) > 0 {
		maps.Copy(out.GCSConfiguration.MediaTypes, def.GCSConfiguration.MediaTypes)
	}
	return out
}

var prowAPIPackage = reflect.TypeFor[prowv1.DecorationConfig]().PkgPath()

func mergeStruct(dst, def reflect.Value) {
	for i := range dst.NumField() {
		f, d := dst.Field(i), def.Field(i)
		switch {
		case d.IsZero():
		case f.IsZero():
			f.Set(d)
		case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Struct && f.Type().Elem().PkgPath() == prowAPIPackage:
			mergeStruct(f.Elem(), d.Elem())
		}
	}
}

// defaultJobs fills in every job what Prow fills in before validating: agent, cluster, namespace,
// decoration, context, trigger, and the presets' env, volumes, mounts and tolerations. A preset
// that clashes with the job is recorded as an error, as in Prow.
func (l *loader) defaultJobs(c *Config) {
	cache := map[string]*prowv1.DecorationConfig{}
	for i := range c.Periodics {
		p := &c.Periodics[i]
		c.defaultJobBase(&p.JobBase, periodicRepo(p), cache)
		l.applyPresets(c, &p.JobBase)
	}
	for _, repo := range SortedKeys(c.PresubmitsStatic) {
		jobs := c.PresubmitsStatic[repo]
		for i := range jobs {
			p := &jobs[i]
			c.defaultJobBase(&p.JobBase, repo, cache)
			defaultContext(&p.Reporter, p.Name)
			if p.Trigger == "" && p.RerunCommand == "" {
				p.Trigger, p.RerunCommand = DefaultTriggerFor(p.Name), DefaultRerunCommandFor(p.Name)
			}
			l.applyPresets(c, &p.JobBase)
		}
	}
	for _, repo := range SortedKeys(c.PostsubmitsStatic) {
		jobs := c.PostsubmitsStatic[repo]
		for i := range jobs {
			p := &jobs[i]
			c.defaultJobBase(&p.JobBase, repo, cache)
			defaultContext(&p.Reporter, p.Name)
			l.applyPresets(c, &p.JobBase)
		}
	}
}

// defaultContext makes the job's name its status context where it sets none.
func defaultContext(r *Reporter, name string) {
	if r.Context == "" {
		r.Context = name
	}
}

func (l *loader) applyPresets(c *Config, j *JobBase) {
	if err := applyPresets(c.Presets, j.Labels, j.Spec); err != nil {
		l.job(j).fail("spec", "%v", err)
	}
}

// jobRepo is the repo whose decoration defaults a periodic gets: its first extra ref's.
func periodicRepo(p *Periodic) string {
	if len(p.ExtraRefs) > 0 {
		return p.ExtraRefs[0].Org + "/" + p.ExtraRefs[0].Repo
	}
	return ""
}

// defaultJobBase fills in what every job gets: agent, cluster, namespace, decoration.
func (c *Config) defaultJobBase(j *JobBase, repo string, cache map[string]*prowv1.DecorationConfig) {
	if j.Agent == "" {
		j.Agent = string(prowv1.KubernetesAgent)
	}
	if j.Cluster == "" {
		j.Cluster = prowv1.DefaultClusterAlias
	}
	if j.Namespace == nil || *j.Namespace == "" {
		ns := c.PodNamespace
		j.Namespace = &ns
	}
	if j.Decorate == nil && c.DecorateAllJobs && j.Agent == string(prowv1.KubernetesAgent) {
		yes := true
		j.Decorate = &yes
	}
	if j.Decorated() {
		key := repo + "\x00" + j.Cluster
		def, ok := cache[key]
		if !ok {
			def = c.Plank.DecorationDefaults(repo, j.Cluster)
			cache[key] = def
		}
		j.DecorationConfig = MergeDecorationConfig(j.DecorationConfig, def)
	}
}

// PodTimeouts are plank's Pod deadlines: unscheduled, pending and running, with Prow's defaults
// where unset (a config built in code rather than loaded has none).
func (p *Plank) PodTimeouts() (unscheduled, pending, running time.Duration) {
	get := func(d *metav1.Duration, def time.Duration) time.Duration {
		if d == nil {
			return def
		}
		return d.Duration
	}
	return get(p.PodUnscheduledTimeout, DefaultPodUnscheduledTimeout), get(p.PodPendingTimeout, DefaultPodPendingTimeout), get(p.PodRunningTimeout, DefaultPodRunningTimeout)
}

// Revivals is plank.max_revivals, 3 where unset.
func (p *Plank) Revivals() int {
	if p.MaxRevivals == nil {
		return DefaultMaxRevivals
	}
	return *p.MaxRevivals
}
