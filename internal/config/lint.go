package config

import (
	"fmt"
	"slices"
	"strings"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// The warnings of Prow's checkconfig that Prowl checks, by Prow's names.
const (
	// WarnNonDecoratedJobs is a kubernetes job without the pod utilities.
	WarnNonDecoratedJobs = "non-decorated-jobs"
	// WarnLongJobNames is a kubernetes job's name over 63 characters, too long for a label value.
	WarnLongJobNames = "long-job-names"
	// WarnDuplicateJobRefs is a repository a presubmit clones twice.
	WarnDuplicateJobRefs = "duplicate-job-refs"
	// WarnPeriodicDefaultClone is a periodic with the primary refs' clone_depth, clone_uri or
	// path_alias, which periodics (having no primary refs) ignore.
	WarnPeriodicDefaultClone = "periodic-default-clone-config"
	// WarnRequiredJobAnnotations is a job without an annotation --required-job-annotations asks for.
	WarnRequiredJobAnnotations = "required-job-annotations"
	// WarnMissingTrigger is a repository with presubmits or postsubmits but no trigger plugin.
	WarnMissingTrigger = "missing-trigger"
)

// maxJobNameLength is the longest job name that fits a label value, as Prow checks it.
const maxJobNameLength = 63

// LintOptions are the inputs of the optional checks.
type LintOptions struct {
	// RequiredJobAnnotations are annotations every job must have (--required-job-annotations).
	RequiredJobAnnotations []string
	// TriggerEnabled, when set, says whether the trigger plugin runs for org/repo (from
	// --plugin-config); missing-trigger is checked only then.
	TriggerEnabled func(org, repo string) bool
}

// lintJob is one job as the checks see it.
type lintJob struct {
	base      *JobBase
	repo      string // "" for periodics
	periodic  bool
	presubmit bool
}

func (c *Config) lintJobs() []lintJob {
	var all []lintJob
	for i := range c.Periodics {
		all = append(all, lintJob{base: &c.Periodics[i].JobBase, periodic: true})
	}
	for _, repo := range SortedKeys(c.PresubmitsStatic) {
		for i := range c.PresubmitsStatic[repo] {
			all = append(all, lintJob{base: &c.PresubmitsStatic[repo][i].JobBase, repo: repo, presubmit: true})
		}
	}
	for _, repo := range SortedKeys(c.PostsubmitsStatic) {
		for i := range c.PostsubmitsStatic[repo] {
			all = append(all, lintJob{base: &c.PostsubmitsStatic[repo][i].JobBase, repo: repo})
		}
	}
	return all
}

// Lint runs the checks of Prow's checkconfig that apply to what Prowl reads, and Prowl's
// ignored-fields check, and returns their warnings with file and line. Whether a warning is
// shown is the caller's choice (checkconfig's --warnings and --exclude-warning).
func (c *Config) Lint(o LintOptions) []*Problem {
	var out []*Problem
	add := func(j *JobBase, name, field, format string, args ...any) {
		out = append(out, &Problem{File: j.SourcePath, Job: j.Name, Field: field, Warning: name, Msg: fmt.Sprintf(format, args...)})
	}
	for _, lj := range c.lintJobs() {
		j := lj.base
		if j.Agent == string(prowv1.KubernetesAgent) && !j.Decorated() {
			add(j, WarnNonDecoratedJobs, "decorate", "the job runs on kubernetes without the pod utilities (no logs or artifacts uploaded); set decorate: true")
		}
		if j.Agent == string(prowv1.KubernetesAgent) && len(j.Name) > maxJobNameLength {
			add(j, WarnLongJobNames, "name", "is %d characters; a job name must be no more than %d to fit a label value", len(j.Name), maxJobNameLength)
		}
		// Prow checks the refs of presubmits only.
		if dup := duplicateRefs(lj.repo, j.ExtraRefs); lj.presubmit && len(dup) > 0 {
			add(j, WarnDuplicateJobRefs, "extra_refs", "clones %s more than once; remove the duplicate", strings.Join(dup, ", "))
		}
		if lj.periodic && (j.PathAlias != "" || j.CloneURI != "" || j.CloneDepth != 0) {
			add(j, WarnPeriodicDefaultClone, "", "path_alias, clone_uri and clone_depth apply to a job's own repository, which a periodic has none of: they have no effect; set them in the extra_refs entry instead")
		}
		for _, a := range o.RequiredJobAnnotations {
			if _, ok := j.Annotations[a]; !ok {
				add(j, WarnRequiredJobAnnotations, "annotations", "lacks the required annotation %q", a)
			}
		}
	}
	out = append(out, c.ignoredFields()...)
	if o.TriggerEnabled != nil {
		out = append(out, c.missingTriggers(o.TriggerEnabled)...)
	}
	var loc locator
	for _, p := range out {
		loc.locate(p)
	}
	sortProblems(out)
	return out
}

// duplicateRefs lists the org/repos that repo and refs name more than once.
func duplicateRefs(repo string, refs []prowv1.Refs) []string {
	count := map[string]int{}
	if repo != "" {
		count[repo]++
	}
	var dup []string
	for _, r := range refs {
		k := r.Org + "/" + r.Repo
		if count[k]++; count[k] == 2 {
			dup = append(dup, k)
		}
	}
	return dup
}

// ignoredFields warns of each field Prow acts on that Prowl keeps but does not act on yet, naming
// the job.
func (c *Config) ignoredFields() []*Problem {
	var out []*Problem
	for i := range c.Periodics {
		p := &c.Periodics[i]
		if p.Retry != nil {
			out = append(out, &Problem{File: p.SourcePath, Job: p.Name, Field: "retry", Warning: WarnIgnoredField,
				Msg: "is kept but ignored: Prowl does not retry failed periodics yet; the job runs on its schedule only"})
		}
	}
	return out
}

// missingTriggers warns of each repository with presubmits or postsubmits whose trigger plugin is
// not enabled, so that none of its jobs would run.
func (c *Config) missingTriggers(enabled func(org, repo string) bool) []*Problem {
	var out []*Problem
	repos := append(SortedKeys(c.PresubmitsStatic), SortedKeys(c.PostsubmitsStatic)...)
	slices.Sort(repos)
	for _, repo := range slices.Compact(repos) {
		org, name, ok := strings.Cut(repo, "/")
		if !ok || enabled(org, name) {
			continue
		}
		file := ""
		if jobs := c.PresubmitsStatic[repo]; len(jobs) > 0 {
			file = jobs[0].SourcePath
		} else if jobs := c.PostsubmitsStatic[repo]; len(jobs) > 0 {
			file = jobs[0].SourcePath
		}
		out = append(out, &Problem{File: file, Field: repo, Warning: WarnMissingTrigger,
			Msg: "has presubmits or postsubmits but the trigger plugin is not enabled for it in the plugin config, so none of them runs; enable trigger for the repo or its org"})
	}
	return out
}
