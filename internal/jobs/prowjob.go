// Package jobs makes ProwJobs from job config and events: what Prow calls pjutil. Horologium,
// Trigger and `prowl mkpj` all build through it, so a job runs the same whoever starts it.
package jobs

import (
	"github.com/google/uuid"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/decorate"
)

// Builder makes ProwJobs. Its clock and name source are injected so that tests are exact.
type Builder struct {
	// Namespace is where ProwJobs live (prowjob_namespace).
	Namespace string
	// Clock gives status.startTime.
	Clock clock.PassiveClock
	// NewName gives metadata.name; a fresh UUID by default.
	NewName func() string
}

// NewBuilder returns a Builder for cfg with the real clock and UUID names.
func NewBuilder(cfg *config.Config) Builder {
	return Builder{Namespace: cfg.ProwJobNamespace, Clock: clock.RealClock{}, NewName: uuid.NewString}
}

// Periodic makes the ProwJob of one run of a periodic: no refs, extra_refs as configured.
func (b Builder) Periodic(p *config.Periodic) *prowv1.ProwJob {
	spec := specFromJobBase(&p.JobBase)
	spec.Type = prowv1.PeriodicJob
	return b.newProwJob(spec, p.Labels, p.Annotations)
}

// Presubmit makes the ProwJob of a presubmit for refs with one pull request.
func (b Builder) Presubmit(p *config.Presubmit, refs prowv1.Refs) *prowv1.ProwJob {
	return b.newProwJob(presubmitSpec(p, refs, prowv1.PresubmitJob), p.Labels, p.Annotations)
}

// Batch makes the ProwJob of a presubmit run on several pull requests merged together.
func (b Builder) Batch(p *config.Presubmit, refs prowv1.Refs) *prowv1.ProwJob {
	return b.newProwJob(presubmitSpec(p, refs, prowv1.BatchJob), p.Labels, p.Annotations)
}

// Postsubmit makes the ProwJob of a postsubmit for a pushed branch.
func (b Builder) Postsubmit(p *config.Postsubmit, refs prowv1.Refs) *prowv1.ProwJob {
	spec := specFromJobBase(&p.JobBase)
	spec.Type = prowv1.PostsubmitJob
	spec.Context = p.Context
	spec.Report = !p.SkipReport
	spec.Refs = completeRefs(refs, &p.JobBase)
	return b.newProwJob(spec, p.Labels, p.Annotations)
}

func presubmitSpec(p *config.Presubmit, refs prowv1.Refs, t prowv1.ProwJobType) prowv1.ProwJobSpec {
	spec := specFromJobBase(&p.JobBase)
	spec.Type = t
	spec.Context = p.Context
	spec.Report = !p.SkipReport
	spec.RerunCommand = p.RerunCommand
	spec.Refs = completeRefs(refs, &p.JobBase)
	return spec
}

// specFromJobBase carries the fields every job has into a ProwJob spec. The config is already
// defaulted, so decoration_config is complete.
func specFromJobBase(j *config.JobBase) prowv1.ProwJobSpec {
	spec := prowv1.ProwJobSpec{
		Job:                   j.Name,
		Agent:                 prowv1.ProwJobAgent(j.Agent),
		Cluster:               j.Cluster,
		MaxConcurrency:        j.MaxConcurrency,
		ErrorOnEviction:       j.ErrorOnEviction,
		ExtraRefs:             decorateExtraRefs(j),
		DecorationConfig:      j.DecorationConfig.DeepCopy(),
		PodSpec:               j.Spec.DeepCopy(),
		PipelineRunSpec:       j.PipelineRunSpec.DeepCopy(),
		TektonPipelineRunSpec: j.TektonPipelineRunSpec.DeepCopy(),
		ReporterConfig:        j.ReporterConfig.DeepCopy(),
		RerunAuthConfig:       j.RerunAuthConfig.DeepCopy(),
		Hidden:                j.Hidden,
		ProwJobDefault:        j.ProwJobDefault.DeepCopy(),
		JobQueueName:          j.JobQueueName,
	}
	if j.Namespace != nil {
		spec.Namespace = *j.Namespace
	}
	return spec
}

// decorateExtraRefs copies the job's extra_refs with decoration's clone settings, as Prow's
// DecorateExtraRefs does.
func decorateExtraRefs(j *config.JobBase) []prowv1.Refs {
	if j.ExtraRefs == nil {
		return nil
	}
	out := make([]prowv1.Refs, len(j.ExtraRefs))
	for i := range j.ExtraRefs {
		j.ExtraRefs[i].DeepCopyInto(&out[i])
		decorateRefs(&out[i], j.DecorationConfig)
	}
	return out
}

// decorateRefs gives refs that do not set blobless_fetch the decoration config's, as Prow does
// for the primary refs and every extra ref (test-infra's default decoration config sets it for
// every job).
func decorateRefs(r *prowv1.Refs, dc *prowv1.DecorationConfig) {
	if dc != nil && r.BloblessFetch == nil && dc.BloblessFetch != nil {
		v := *dc.BloblessFetch
		r.BloblessFetch = &v
	}
}

// completeRefs adds the job's cloning settings to the refs under test: Prow's CompletePrimaryRefs,
// and decoration_config.sparse_checkout_files where the refs set none (it applies to the primary
// refs only, not to extra refs).
func completeRefs(refs prowv1.Refs, j *config.JobBase) *prowv1.Refs {
	out := refs.DeepCopy()
	if j.PathAlias != "" {
		out.PathAlias = j.PathAlias
	}
	if j.CloneURI != "" {
		out.CloneURI = j.CloneURI
	}
	out.SkipSubmodules = out.SkipSubmodules || j.SkipSubmodules
	if j.CloneDepth > 0 {
		out.CloneDepth = j.CloneDepth
	}
	out.SkipFetchHead = out.SkipFetchHead || j.SkipFetchHead
	decorateRefs(out, j.DecorationConfig)
	if dc := j.DecorationConfig; dc != nil && len(out.SparseCheckoutFiles) == 0 && len(dc.SparseCheckoutFiles) > 0 {
		out.SparseCheckoutFiles = append([]string(nil), dc.SparseCheckoutFiles...)
	}
	return out
}

// newProwJob wraps spec with the labels and annotations Prow sets, and a triggered status.
func (b Builder) newProwJob(spec prowv1.ProwJobSpec, jobLabels, jobAnnotations map[string]string) *prowv1.ProwJob {
	name := b.NewName()
	labels, annotations := decorate.LabelsAndAnnotations(spec, jobLabels, jobAnnotations)
	labels[prowv1.IDLabel] = name
	return &prowv1.ProwJob{
		TypeMeta: metav1.TypeMeta{APIVersion: prowv1.SchemeGroupVersion.String(), Kind: "ProwJob"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   b.Namespace,
			Labels:      labels,
			Annotations: annotations,
		},
		Spec: spec,
		Status: prowv1.ProwJobStatus{
			State:     prowv1.TriggeredState,
			StartTime: metav1.NewTime(b.Clock.Now()),
		},
	}
}
