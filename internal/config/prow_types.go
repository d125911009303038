package config

import (
	"encoding/json"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// ProwConfig is the prow config file (--config-path) apart from the job config it may also hold.
// Sections Prowl does not use yet are kept verbatim in Other, so nothing a user wrote is lost.
type ProwConfig struct {
	ProwJobNamespace string          `json:"prowjob_namespace,omitempty"`
	PodNamespace     string          `json:"pod_namespace,omitempty"`
	LogLevel         string          `json:"log_level,omitempty"`
	Plank            Plank           `json:"plank,omitzero"`
	Sinker           Sinker          `json:"sinker,omitzero"`
	Horologium       Horologium      `json:"horologium,omitzero"`
	GitHubOptions    GitHubOptions   `json:"github,omitzero"`
	GitHubReporter   GitHubReporter  `json:"github_reporter,omitzero"`
	InRepoConfig     InRepoConfig    `json:"in_repo_config,omitzero"`
	Deck             json.RawMessage `json:"deck,omitempty"`

	// Other holds the sections of Prow's config that Prowl keeps but does not use (tide,
	// branch-protection, gerrit, ...), by key.
	Other map[string]json.RawMessage `json:"-"`
}

// Plank configures the controller that runs ProwJobs as Pods.
type Plank struct {
	JobURLTemplate                           string                              `json:"job_url_template,omitempty"`
	JobURLPrefixConfig                       map[string]string                   `json:"job_url_prefix_config,omitempty"`
	ReportTemplates                          map[string]string                   `json:"report_templates,omitempty"`
	ReportTemplate                           string                              `json:"report_template,omitempty"`
	MaxConcurrency                           int                                 `json:"max_concurrency,omitempty"`
	MaxRevivals                              *int                                `json:"max_revivals,omitempty"`
	PodPendingTimeout                        *metav1.Duration                    `json:"pod_pending_timeout,omitempty"`
	PodRunningTimeout                        *metav1.Duration                    `json:"pod_running_timeout,omitempty"`
	PodUnscheduledTimeout                    *metav1.Duration                    `json:"pod_unscheduled_timeout,omitempty"`
	DefaultDecorationConfigs                 map[string]*prowv1.DecorationConfig `json:"default_decoration_configs,omitempty"`
	DefaultDecorationConfigEntries           []DefaultDecorationConfigEntry      `json:"default_decoration_config_entries,omitempty"`
	JobQueueCapacities                       map[string]int                      `json:"job_queue_capacities,omitempty"`
	JobURLPrefixDisableAppendStorageProvider bool                                `json:"jobURLPrefixDisableAppendStorageProvider,omitempty"`
	BuildClusterStatusFile                   string                              `json:"build_cluster_status_file,omitempty"`
}

// DefaultDecorationConfigEntry is decoration defaults for the jobs of a repo (org, or org/repo; ""
// or "*" for all) on a cluster ("" or "*" for all).
type DefaultDecorationConfigEntry struct {
	OrgRepo string                   `json:"repo,omitempty"`
	Cluster string                   `json:"cluster,omitempty"`
	Config  *prowv1.DecorationConfig `json:"config,omitempty"`
}

// Sinker configures the garbage collector of old ProwJobs and Pods.
type Sinker struct {
	ResyncPeriod     *metav1.Duration `json:"resync_period,omitempty"`
	MaxProwJobAge    *metav1.Duration `json:"max_prowjob_age,omitempty"`
	MaxPodAge        *metav1.Duration `json:"max_pod_age,omitempty"`
	TerminatedPodTTL *metav1.Duration `json:"terminated_pod_ttl,omitempty"`
	ExcludeClusters  []string         `json:"exclude_clusters,omitempty"`
}

// Horologium configures the periodic-job scheduler.
type Horologium struct {
	TickInterval *metav1.Duration `json:"tick_interval,omitempty"`
}

// GitHubOptions configures links to GitHub.
type GitHubOptions struct {
	LinkURLFromConfig string `json:"link_url,omitempty"`
}

// GitHubReporter configures which jobs Crier reports to GitHub.
type GitHubReporter struct {
	JobTypesToReport    []prowv1.ProwJobType `json:"job_types_to_report,omitempty"`
	NoCommentRepos      []string             `json:"no_comment_repos,omitempty"`
	SummaryCommentRepos []string             `json:"summary_comment_repos,omitempty"`
}

// InRepoConfig configures jobs defined in the repositories themselves (.prow.yaml).
type InRepoConfig struct {
	Enabled         map[string]*bool    `json:"enabled,omitempty"`
	AllowedClusters map[string][]string `json:"allowed_clusters,omitempty"`
}

// Defaults Prow applies to an unset plank, sinker and horologium.
const (
	DefaultPodPendingTimeout     = 10 * time.Minute
	DefaultPodRunningTimeout     = 48 * time.Hour
	DefaultPodUnscheduledTimeout = 5 * time.Minute
	DefaultMaxRevivals           = 3
	DefaultMaxProwJobAge         = 7 * 24 * time.Hour
	DefaultMaxPodAge             = 24 * time.Hour
	DefaultResyncPeriod          = time.Hour
	DefaultTickInterval          = time.Minute
	DefaultProwJobNamespace      = "default"
	DefaultPodNamespace          = "default"
)

// knownProwKeys are the top-level keys of Prow's config file that Prowl keeps in Other without
// using them. Any other key is unknown (a warning, or an error with --strict).
var knownProwKeys = map[string]bool{
	"branch-protection": true, "config_version_sha": true, "default_job_timeout": true,
	"disabled_clusters": true, "gangway": true, "gerrit": true, "jenkins_operators": true,
	"managed_webhooks": true, "moonraker": true, "owners_dir_denylist": true, "pipeline": true,
	"prowjob_default_entries": true, "pubsub_subscriptions": true, "pubsub_triggers": true,
	"push_gateway": true, "scheduler": true, "slack_reporter_configs": true,
	"status_error_link": true, "tide": true, "sinker": true, "plank": true, "deck": true,
	"owners_dir_blacklist": true, "keeper": true, "fake_github_base_url": true,
}
