package decorate

import (
	"path/filepath"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// LabelsAndAnnotations are the labels and annotations Prow puts on a ProwJob and its Pod: the job
// name, type, context and refs (from refs, else extra_refs[0]), then the job's own, which win. A
// job name or context longer than a label allows is cut to 63 characters in the label and kept
// whole in the annotation; a value that is still not a valid label is replaced by its base name if
// that is valid, else left out. An empty context is left out.
func LabelsAndAnnotations(spec prowv1.ProwJobSpec, extraLabels, extraAnnotations map[string]string) (labels, annotations map[string]string) {
	labels = map[string]string{prowv1.CreatedByProw: "true", prowv1.TypeLabel: string(spec.Type)}
	annotations = map[string]string{}
	for key, value := range map[string]string{prowv1.JobAnnotation: spec.Job, prowv1.ContextAnnotation: spec.Context} {
		if value == "" && key == prowv1.ContextAnnotation {
			continue
		}
		label := value
		if len(value) > validation.LabelValueMaxLength {
			label = strings.TrimRight(value[:validation.LabelValueMaxLength], "._-")
		}
		labels[key] = label
		annotations[key] = value
	}
	refs := spec.Refs
	if refs == nil && len(spec.ExtraRefs) > 0 {
		refs = &spec.ExtraRefs[0]
	}
	if refs != nil {
		labels[prowv1.OrgLabel], labels[prowv1.RepoLabel], labels[prowv1.BaseRefLabel] = refs.Org, refs.Repo, refs.BaseRef
		if len(refs.Pulls) > 0 {
			labels[prowv1.PullLabel] = strconv.Itoa(refs.Pulls[0].Number)
		}
	}
	for k, v := range extraLabels {
		labels[k] = v
	}
	for key, value := range labels {
		if len(validation.IsValidLabelValue(value)) == 0 {
			continue
		}
		if base := filepath.Base(value); len(validation.IsValidLabelValue(base)) == 0 {
			labels[key] = base
		} else {
			delete(labels, key)
		}
	}
	for k, v := range extraAnnotations {
		annotations[k] = v
	}
	return labels, annotations
}

// JobLabelValue is the value of the prow.k8s.io/job label for a job name: the name, cut as
// LabelsAndAnnotations cuts it, so that ProwJobs of a job can be selected by label.
func JobLabelValue(job string) string {
	labels, _ := LabelsAndAnnotations(prowv1.ProwJobSpec{Job: job}, nil, nil)
	return labels[prowv1.JobLabel]
}
