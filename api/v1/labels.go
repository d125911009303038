package v1

// Label and annotation keys that Prow sets on ProwJobs and their Pods. Tools that select Prow's
// objects (Deck, Crier, Sinker, kubectl users) depend on these exact keys.
const (
	// CreatedByProw marks objects that Prow made; its value is "true".
	CreatedByProw = "created-by-prow"
	// JobLabel holds the job name, cut to 63 characters; JobAnnotation holds it whole.
	JobLabel = "prow.k8s.io/job"
	// JobAnnotation holds the full job name (labels are limited to 63 characters).
	JobAnnotation = "prow.k8s.io/job"
	// TypeLabel holds the job type (presubmit, postsubmit, periodic, batch).
	TypeLabel = "prow.k8s.io/type"
	// IDLabel holds the ProwJob's name.
	IDLabel = "prow.k8s.io/id"
	// BuildIDLabel holds the build ID given to the job's Pod.
	BuildIDLabel = "prow.k8s.io/build-id"
	// ContextAnnotation holds the GitHub status context; ContextLabel holds it where it is a valid label value.
	ContextAnnotation = "prow.k8s.io/context"
	// ContextLabel is the label form of ContextAnnotation.
	ContextLabel = "prow.k8s.io/context"
	// OrgLabel, RepoLabel, BaseRefLabel and PullLabel come from refs (else extra_refs[0]).
	OrgLabel = "prow.k8s.io/refs.org"
	// RepoLabel is the repository of the job's main ref.
	RepoLabel = "prow.k8s.io/refs.repo"
	// BaseRefLabel is the base branch of the job's main ref.
	BaseRefLabel = "prow.k8s.io/refs.base_ref"
	// PullLabel is the pull request number of a presubmit.
	PullLabel = "prow.k8s.io/refs.pull"
	// IsOptionalLabel marks optional presubmits.
	IsOptionalLabel = "prow.k8s.io/is-optional"
)
