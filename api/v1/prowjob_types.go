package v1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ProwJobType says how a job is triggered and which refs it has.
// +kubebuilder:validation:Enum=presubmit;postsubmit;periodic;batch
type ProwJobType string

// The job types.
const (
	// PresubmitJob runs on a pull request: refs with one pull.
	PresubmitJob ProwJobType = "presubmit"
	// PostsubmitJob runs on a pushed branch: refs with no pulls.
	PostsubmitJob ProwJobType = "postsubmit"
	// PeriodicJob runs on a schedule: no refs, perhaps extra_refs.
	PeriodicJob ProwJobType = "periodic"
	// BatchJob tests several pull requests merged together.
	BatchJob ProwJobType = "batch"
)

// ProwJobState is where a job is in its life.
// +kubebuilder:validation:Enum=scheduling;triggered;pending;success;failure;aborted;error
type ProwJobState string

// The job states. An empty state, as a ProwJob created through the API has before any controller
// saw it (status is a subresource, so create drops it), means triggered.
const (
	// SchedulingState waits for a scheduler to pick the build cluster.
	SchedulingState ProwJobState = "scheduling"
	// TriggeredState waits for a controller to start the job.
	TriggeredState ProwJobState = "triggered"
	// PendingState means the job's Pod exists and the job runs.
	PendingState ProwJobState = "pending"
	// SuccessState is final: the job passed.
	SuccessState ProwJobState = "success"
	// FailureState is final: the job failed.
	FailureState ProwJobState = "failure"
	// AbortedState is final: the job was stopped before it finished.
	AbortedState ProwJobState = "aborted"
	// ErrorState is final: the job could not run.
	ErrorState ProwJobState = "error"
)

// ProwJobAgent names the controller that runs a job.
type ProwJobAgent string

// KubernetesAgent is the agent whose jobs Plank runs as Pods.
const KubernetesAgent ProwJobAgent = "kubernetes"

// KnownAgents are the agents Prow has controllers for. A job of another agent would wait for a
// controller that does not exist: Plank ends it in error instead.
var KnownAgents = []ProwJobAgent{KubernetesAgent, "jenkins", "tekton-pipeline"}

// KnownAgentList is KnownAgents for a message: "kubernetes, jenkins, tekton-pipeline".
func KnownAgentList() string {
	s := ""
	for i, a := range KnownAgents {
		if i > 0 {
			s += ", "
		}
		s += string(a)
	}
	return s
}

// DefaultClusterAlias is the build cluster that is the control plane's own.
const DefaultClusterAlias = "default"

// ProwJob is one run of a job: what to run (spec) and how it went (status).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=prowjobs,singular=prowjob,scope=Namespaced
// +kubebuilder:metadata:annotations="api-approved.kubernetes.io=https://github.com/kubernetes/test-infra/pull/8669"
// +kubebuilder:printcolumn:name="Job",type=string,JSONPath=".spec.job",description="The name of the job being run"
// +kubebuilder:printcolumn:name="BuildId",type=string,JSONPath=".status.build_id",description="The ID of the job being run."
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=".spec.type",description="The type of job being run."
// +kubebuilder:printcolumn:name="Org",type=string,JSONPath=".spec.refs.org",description="The org for which the job is running."
// +kubebuilder:printcolumn:name="Repo",type=string,JSONPath=".spec.refs.repo",description="The repo for which the job is running."
// +kubebuilder:printcolumn:name="Pulls",type=string,JSONPath=".spec.refs.pulls[*].number",description="The pulls for which the job is running."
// +kubebuilder:printcolumn:name="StartTime",type=date,JSONPath=".status.startTime",description="When the job started running."
// +kubebuilder:printcolumn:name="CompletionTime",type=date,JSONPath=".status.completionTime",description="When the job finished running."
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=".status.state",description="The state of the job."
type ProwJob struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ProwJobSpec `json:"spec,omitempty"`
	// +optional
	Status ProwJobStatus `json:"status,omitzero"`
}

// ProwJobList is a list of ProwJobs.
//
// +kubebuilder:object:root=true
type ProwJobList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ProwJob `json:"items"`
}

// ProwJobSpec says what to run, where, on which code, and how to report it.
type ProwJobSpec struct {
	// Type is how the job was triggered.
	Type ProwJobType `json:"type"`
	// Agent is the controller that runs the job; Plank runs "kubernetes".
	// +optional
	Agent ProwJobAgent `json:"agent,omitempty"`
	// Cluster is the build cluster the job's Pod runs on.
	// +optional
	Cluster string `json:"cluster,omitempty"`
	// Namespace is where the job's Pod is created.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Job is the job's name in config.
	Job string `json:"job"`
	// Refs is the code under test.
	// +optional
	Refs *Refs `json:"refs,omitempty"`
	// ExtraRefs are more repositories to clone beside Refs.
	// +optional
	ExtraRefs []Refs `json:"extra_refs,omitempty"`
	// Report says whether results are reported (GitHub statuses, Slack).
	// +optional
	Report bool `json:"report,omitempty"`
	// Context is the GitHub status context.
	// +optional
	Context string `json:"context,omitempty"`
	// RerunCommand is the comment that reruns the job on a pull request.
	// +optional
	RerunCommand string `json:"rerun_command,omitempty"`
	// MaxConcurrency limits how many runs of this job are pending at once; 0 is no limit.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxConcurrency int `json:"max_concurrency,omitempty"`
	// ErrorOnEviction ends the job in error when its Pod is evicted, instead of recreating the Pod.
	// +optional
	ErrorOnEviction bool `json:"error_on_eviction,omitempty"`

	// PodSpec is the job's own Pod, before decoration. The CRD keeps it schemaless so that every
	// valid Pod field round-trips without an 8,000-line schema; the API server checks it when
	// Plank creates the Pod.
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	PodSpec *corev1.PodSpec `json:"pod_spec,omitempty"`

	// JenkinsSpec, PipelineRunSpec and TektonPipelineRunSpec belong to agents Prowl does not run;
	// they are kept so that Prow's objects pass through unchanged.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	JenkinsSpec *runtime.RawExtension `json:"jenkins_spec,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	PipelineRunSpec *runtime.RawExtension `json:"pipeline_run_spec,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	TektonPipelineRunSpec *runtime.RawExtension `json:"tekton_pipeline_run_spec,omitempty"`

	// DecorationConfig, when set, wraps the job's container with the pod utilities.
	// +optional
	DecorationConfig *DecorationConfig `json:"decoration_config,omitempty"`
	// ReporterConfig configures reporters other than GitHub.
	// +optional
	ReporterConfig *ReporterConfig `json:"reporter_config,omitempty"`
	// RerunAuthConfig says who may rerun the job.
	// +optional
	RerunAuthConfig *RerunAuthConfig `json:"rerun_auth_config,omitempty"`
	// Hidden jobs are shown only on a private Deck.
	// +optional
	Hidden bool `json:"hidden,omitempty"`
	// ProwJobDefault holds defaults from the Prow config.
	// +optional
	ProwJobDefault *ProwJobDefault `json:"prowjob_defaults,omitempty"`
	// JobQueueName is the queue whose capacity (plank.job_queue_capacities) bounds this job.
	// +optional
	JobQueueName string `json:"job_queue_name,omitempty"`
}

// Refs is a repository and the commits under test.
type Refs struct {
	// Org is the GitHub organisation (or Gerrit host).
	Org string `json:"org"`
	// Repo is the repository name.
	Repo string `json:"repo"`
	// RepoLink links to the repository.
	// +optional
	RepoLink string `json:"repo_link,omitempty"`
	// BaseRef is the branch under test.
	// +optional
	BaseRef string `json:"base_ref,omitempty"`
	// BaseSHA is the base branch's commit.
	// +optional
	BaseSHA string `json:"base_sha,omitempty"`
	// BaseLink links to the base commit.
	// +optional
	BaseLink string `json:"base_link,omitempty"`
	// Pulls are the pull requests merged onto the base, in order.
	// +optional
	Pulls []Pull `json:"pulls,omitempty"`
	// PathAlias is where the repository is cloned under $GOPATH/src instead of host/org/repo.
	// +optional
	PathAlias string `json:"path_alias,omitempty"`
	// WorkDir makes this repository the test container's working directory.
	// +optional
	WorkDir bool `json:"workdir,omitempty"`
	// CloneURI overrides https://github.com/org/repo.git.
	// +optional
	CloneURI string `json:"clone_uri,omitempty"`
	// SkipSubmodules skips submodule checkout.
	// +optional
	SkipSubmodules bool `json:"skip_submodules,omitempty"`
	// CloneDepth makes a shallow clone of this depth; 0 clones everything.
	// +optional
	CloneDepth int `json:"clone_depth,omitempty"`
	// SkipFetchHead skips fetching HEAD from the remote.
	// +optional
	SkipFetchHead bool `json:"skip_fetch_head,omitempty"`
	// BloblessFetch fetches with --filter=blob:none.
	// +optional
	BloblessFetch *bool `json:"blobless_fetch,omitempty"`
	// SparseCheckoutFiles limits the checkout to these paths.
	// +optional
	SparseCheckoutFiles []string `json:"sparse_checkout_files,omitempty"`
	// Auxiliary marks a repository that is not the one the job is about.
	// +optional
	Auxiliary bool `json:"auxiliary,omitempty"`
}

// Pull is a pull request merged onto the base for a presubmit or batch.
type Pull struct {
	Number int    `json:"number"`
	Author string `json:"author"`
	SHA    string `json:"sha"`
	// +optional
	Title string `json:"title,omitempty"`
	// Ref is the ref to fetch instead of pull/N/head (Gerrit: refs/changes/00/123/1).
	// +optional
	Ref string `json:"ref,omitempty"`
	// +optional
	Link string `json:"link,omitempty"`
	// +optional
	CommitLink string `json:"commit_link,omitempty"`
	// +optional
	AuthorLink string `json:"author_link,omitempty"`
	// HeadRef is the pull request's source branch.
	// +optional
	HeadRef string `json:"head_ref,omitempty"`
}

// ProwJobStatus is how the job went. It is written only through the status subresource.
// +kubebuilder:validation:XValidation:rule="!(self.state in ['success', 'failure', 'error']) || has(self.completionTime)",message="a ProwJob in a final state (success, failure, error) must have completionTime"
type ProwJobStatus struct {
	// StartTime is when the job was triggered.
	// +optional
	StartTime metav1.Time `json:"startTime,omitzero"`
	// PendingTime is when the job's Pod was created.
	// +optional
	PendingTime *metav1.Time `json:"pendingTime,omitempty"`
	// CompletionTime is when the job reached a final state.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// State is where the job is in its life.
	State ProwJobState `json:"state"`
	// Description says why the job is in its state.
	// +optional
	Description string `json:"description,omitempty"`
	// URL links to the job's results.
	// +optional
	URL string `json:"url,omitempty"`
	// PodName is the name of the job's Pod (the ProwJob's name).
	// +optional
	PodName string `json:"pod_name,omitempty"`
	// BuildID is the job run's build identifier, a decimal number, used in artifact paths.
	// +optional
	BuildID string `json:"build_id,omitempty"`
	// JenkinsBuildID belongs to the Jenkins agent and is kept for compatibility.
	// +optional
	JenkinsBuildID string `json:"jenkins_build_id,omitempty"`
	// PrevReportStates is the last state each reporter reported, so reports are not repeated.
	// +optional
	PrevReportStates map[string]ProwJobState `json:"prev_report_states,omitempty"`
	// PodRevivalCount counts the Pods recreated after an unexpected stop.
	// +optional
	PodRevivalCount int `json:"pod_revival_count,omitempty"`
}

// ReporterConfig configures reporters other than GitHub.
type ReporterConfig struct {
	// +optional
	Slack *SlackReporterConfig `json:"slack,omitempty"`
}

// SlackReporterConfig says where and when a job's results go to Slack.
type SlackReporterConfig struct {
	// +optional
	Host string `json:"host,omitempty"`
	// +optional
	Channel string `json:"channel,omitempty"`
	// +optional
	JobStatesToReport []ProwJobState `json:"job_states_to_report,omitempty"`
	// +optional
	ReportTemplate string `json:"report_template,omitempty"`
	// +optional
	Report *bool `json:"report,omitempty"`
}

// RerunAuthConfig says who may rerun a job.
type RerunAuthConfig struct {
	// +optional
	AllowAnyone bool `json:"allow_anyone,omitempty"`
	// +optional
	GitHubUsers []string `json:"github_users,omitempty"`
	// +optional
	GitHubTeamIDs []int `json:"github_team_ids,omitempty"`
	// +optional
	GitHubTeamSlugs []GitHubTeamSlug `json:"github_team_slugs,omitempty"`
	// +optional
	GitHubOrgs []string `json:"github_orgs,omitempty"`
}

// GitHubTeamSlug names a team by its slug within an org.
type GitHubTeamSlug struct {
	Slug string `json:"slug"`
	Org  string `json:"org"`
}

// ProwJobDefault holds per-job defaults from the Prow config.
type ProwJobDefault struct {
	// +optional
	ResultStoreConfig *ResultStoreConfig `json:"resultstore_config,omitempty"`
	// +optional
	TenantID string `json:"tenant_id,omitempty"`
}

// ResultStoreConfig names the Google Cloud project that ResultStore uploads go to.
type ResultStoreConfig struct {
	// +optional
	ProjectID string `json:"project_id,omitempty"`
}

// Complete reports whether the job reached a final state.
func (pj *ProwJob) Complete() bool {
	return pj.Status.CompletionTime != nil
}
