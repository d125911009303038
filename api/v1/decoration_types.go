package v1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DecorationConfig says how to wrap a job's container with the pod utilities: which images, where
// artifacts go, which secrets to mount, and how long the job may run.
type DecorationConfig struct {
	// Timeout is how long the entrypoint lets the test run before it interrupts it.
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('-2562047h')",message="must be a Go duration such as 2h or 30m"
	// +optional
	Timeout *Duration `json:"timeout,omitempty"`
	// GracePeriod is how long the entrypoint waits after the interrupt before it kills the test.
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('-2562047h')",message="must be a Go duration such as 2h or 30m"
	// +optional
	GracePeriod *Duration `json:"grace_period,omitempty"`
	// UtilityImages are the images of the four pod utilities.
	// +optional
	UtilityImages *UtilityImages `json:"utility_images,omitempty"`
	// Resources are the utility containers' resource requirements.
	// +optional
	Resources *Resources `json:"resources,omitempty"`
	// GCSConfiguration says where artifacts go (gs://, s3:// or file:// buckets alike).
	// +optional
	GCSConfiguration *GCSConfiguration `json:"gcs_configuration,omitempty"`
	// GCSCredentialsSecret names the secret with the GCS service-account key.
	// +optional
	GCSCredentialsSecret *string `json:"gcs_credentials_secret,omitempty"`
	// S3CredentialsSecret names the secret with S3 credentials.
	// +optional
	S3CredentialsSecret *string `json:"s3_credentials_secret,omitempty"`
	// DefaultServiceAccountName is the Pod's service account where the job sets none.
	// +optional
	DefaultServiceAccountName *string `json:"default_service_account_name,omitempty"`
	// SSHKeySecrets name secrets holding SSH keys for cloning.
	// +optional
	SSHKeySecrets []string `json:"ssh_key_secrets,omitempty"`
	// SSHHostFingerprints are known hosts that cloning trusts.
	// +optional
	SSHHostFingerprints []string `json:"ssh_host_fingerprints,omitempty"`
	// BloblessFetch clones with --filter=blob:none.
	// +optional
	BloblessFetch *bool `json:"blobless_fetch,omitempty"`
	// SparseCheckoutFiles limits the main ref's checkout to these paths.
	// +optional
	SparseCheckoutFiles []string `json:"sparse_checkout_files,omitempty"`
	// SkipCloning leaves out clonerefs even when the job has refs.
	// +optional
	SkipCloning *bool `json:"skip_cloning,omitempty"`
	// CookiefileSecret names a secret with a git http.cookiefile.
	// +optional
	CookiefileSecret *string `json:"cookiefile_secret,omitempty"`
	// OauthTokenSecret is a GitHub token used for cloning.
	// +optional
	OauthTokenSecret *OauthTokenSecret `json:"oauth_token_secret,omitempty"`
	// GitHubAPIEndpoints are used with a GitHub App to clone.
	// +optional
	GitHubAPIEndpoints []string `json:"github_api_endpoints,omitempty"`
	// GitHubAppID is the GitHub App used to clone.
	// +optional
	GitHubAppID string `json:"github_app_id,omitempty"`
	// GitHubAppPrivateKeySecret holds the GitHub App's private key.
	// +optional
	GitHubAppPrivateKeySecret *GitHubAppPrivateKeySecret `json:"github_app_private_key_secret,omitempty"`
	// CensorSecrets makes the sidecar censor every mounted secret in logs and artifacts.
	// +optional
	CensorSecrets *bool `json:"censor_secrets,omitempty"`
	// CensoringOptions tune the censoring.
	// +optional
	CensoringOptions *CensoringOptions `json:"censoring_options,omitempty"`
	// UploadIgnoresInterrupts makes the sidecar keep waiting for the test after an interrupt.
	// +optional
	UploadIgnoresInterrupts *bool `json:"upload_ignores_interrupts,omitempty"`
	// SetLimitEqualsMemoryRequest sets each container's memory limit to its request.
	// +optional
	SetLimitEqualsMemoryRequest *bool `json:"set_limit_equals_memory_request,omitempty"`
	// DefaultMemoryRequest is the memory request of containers that set none.
	// +optional
	DefaultMemoryRequest *resource.Quantity `json:"default_memory_request,omitempty"`
	// SchedulingOptions are the Pod's affinity and tolerations where it sets none.
	// The CRD keeps it schemaless for size; the API server checks it on Pod create.
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	SchedulingOptions *SchedulingOptions `json:"scheduling_options,omitempty"`
	// PodPendingTimeout overrides plank.pod_pending_timeout for this job.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('-2562047h')",message="must be a Go duration such as 2h or 30m"
	// +optional
	PodPendingTimeout *metav1.Duration `json:"pod_pending_timeout,omitempty"`
	// PodRunningTimeout overrides plank.pod_running_timeout for this job.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('-2562047h')",message="must be a Go duration such as 2h or 30m"
	// +optional
	PodRunningTimeout *metav1.Duration `json:"pod_running_timeout,omitempty"`
	// PodUnscheduledTimeout overrides plank.pod_unscheduled_timeout for this job.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('-2562047h')",message="must be a Go duration such as 2h or 30m"
	// +optional
	PodUnscheduledTimeout *metav1.Duration `json:"pod_unscheduled_timeout,omitempty"`
	// RunAsUser is the Pod's runAsUser where the job's Pod sets none.
	// +optional
	RunAsUser *int64 `json:"run_as_user,omitempty"`
	// RunAsGroup is the Pod's runAsGroup where the job's Pod sets none.
	// +optional
	RunAsGroup *int64 `json:"run_as_group,omitempty"`
	// FsGroup is the Pod's fsGroup where the job's Pod sets none.
	// +optional
	FsGroup *int64 `json:"fs_group,omitempty"`
}

// UtilityImages are the pull specs of the pod utilities.
type UtilityImages struct {
	// +optional
	CloneRefs string `json:"clonerefs,omitempty"`
	// +optional
	InitUpload string `json:"initupload,omitempty"`
	// +optional
	Entrypoint string `json:"entrypoint,omitempty"`
	// +optional
	Sidecar string `json:"sidecar,omitempty"`
}

// Resources are the resource requirements of the utility containers.
type Resources struct {
	// +optional
	CloneRefs *corev1.ResourceRequirements `json:"clonerefs,omitempty"`
	// +optional
	InitUpload *corev1.ResourceRequirements `json:"initupload,omitempty"`
	// +optional
	PlaceEntrypoint *corev1.ResourceRequirements `json:"place_entrypoint,omitempty"`
	// +optional
	Sidecar *corev1.ResourceRequirements `json:"sidecar,omitempty"`
}

// GCSConfiguration says where a job's artifacts go and how their paths are built. Despite its
// name it serves s3:// and file:// buckets too.
type GCSConfiguration struct {
	// Bucket is gs://name, s3://name, file:///path, or a bare name meaning gs://name.
	// +optional
	Bucket string `json:"bucket,omitempty"`
	// PathPrefix goes before every path in the bucket.
	// +optional
	PathPrefix string `json:"path_prefix,omitempty"`
	// PathStrategy is legacy, single or explicit: how presubmit paths name the repository.
	// +optional
	PathStrategy string `json:"path_strategy,omitempty"`
	// DefaultOrg is the org left out of paths under legacy and single.
	// +optional
	DefaultOrg string `json:"default_org,omitempty"`
	// DefaultRepo is the repo left out of paths under legacy and single.
	// +optional
	DefaultRepo string `json:"default_repo,omitempty"`
	// MediaTypes maps file extensions to content types.
	// +optional
	MediaTypes map[string]string `json:"mediaTypes,omitempty"`
	// JobURLPrefix overrides plank.job_url_prefix_config for this job.
	// +optional
	JobURLPrefix string `json:"job_url_prefix,omitempty"`
	// LocalOutputDir writes artifacts to a local directory instead (used by local runs).
	// +optional
	LocalOutputDir string `json:"local_output_dir,omitempty"`
	// CompressFileTypes are extensions gzipped on upload; "*" means all.
	// +optional
	CompressFileTypes []string `json:"compress_file_types,omitempty"`
}

// OauthTokenSecret names a secret and key holding a GitHub OAuth token.
type OauthTokenSecret struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Key string `json:"key,omitempty"`
}

// GitHubAppPrivateKeySecret names a secret and key holding a GitHub App private key.
type GitHubAppPrivateKeySecret struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Key string `json:"key,omitempty"`
}

// CensoringOptions tune how the sidecar censors secrets.
type CensoringOptions struct {
	// +optional
	CensoringConcurrency *int64 `json:"censoring_concurrency,omitempty"`
	// +optional
	CensoringBufferSize *int `json:"censoring_buffer_size,omitempty"`
	// +optional
	IncludeDirectories []string `json:"include_directories,omitempty"`
	// +optional
	ExcludeDirectories []string `json:"exclude_directories,omitempty"`
	// +optional
	MinimumSecretLength *int `json:"minimum_secret_length,omitempty"`
}

// SchedulingOptions are applied to a job's Pod where it sets none of its own.
type SchedulingOptions struct {
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
}
