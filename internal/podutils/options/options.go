// Package options holds the option types of the pod utilities that write to storage (initupload,
// sidecar) and of clonerefs, with Prow's JSON keys, so that the decorator and the utilities agree.
package options

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/podutils/flagjson"
	"github.com/prowl-ci/prowl/internal/podutils/wrapper"
)

// The environment variables that carry each utility's options as JSON.
const (
	InitUploadEnv = "INITUPLOAD_OPTIONS"
	SidecarEnv    = "SIDECAR_OPTIONS"
	CloneRefsEnv  = "CLONEREFS_OPTIONS"
)

// GCSUpload says what to upload and where (gs://, s3:// and file:// alike).
type GCSUpload struct {
	// Items are the files and directories to upload.
	Items []string `json:"items,omitempty"`
	// SubDir goes below the job's directory.
	SubDir string `json:"sub_dir,omitempty"`

	*prowv1.GCSConfiguration `json:",inline"`
	StorageClient            `json:",inline"`

	// DryRun logs what would be uploaded.
	DryRun bool `json:"dry_run"`
}

// StorageClient holds the credential files of the bucket clients.
type StorageClient struct {
	GCSCredentialsFile string `json:"gcs_credentials_file,omitempty"`
	S3CredentialsFile  string `json:"s3_credentials_file,omitempty"`
}

// InitUpload configures initupload.
type InitUpload struct {
	*GCSUpload `json:",inline"`
	// Log is clonerefs' record of the clones, when the job cloned.
	Log string `json:"log,omitempty"`
}

// Sidecar configures the sidecar.
type Sidecar struct {
	GCSOptions *GCSUpload        `json:"gcs_options"`
	Entries    []wrapper.Options `json:"entries"`
	// EntryError makes the sidecar fail when an entry failed.
	EntryError bool `json:"entry_error,omitempty"`
	// IgnoreInterrupts keeps waiting for the entries after SIGTERM.
	IgnoreInterrupts bool              `json:"ignore_interrupts,omitempty"`
	CensoringOptions *CensoringOptions `json:"censoring_options,omitempty"`
}

// CensoringOptions say which secrets the sidecar censors and how.
type CensoringOptions struct {
	CensoringConcurrency *int64   `json:"censoring_concurrency,omitempty"`
	CensoringBufferSize  *int     `json:"censoring_buffer_size,omitempty"`
	SecretDirectories    []string `json:"secret_directories,omitempty"`
	ExcludeDirectories   []string `json:"exclude_directories,omitempty"`
	IncludeDirectories   []string `json:"include_directories,omitempty"`
	MinimumSecretLength  *int     `json:"minimum_secret_length,omitempty"`
}

// CloneRefs configures clonerefs.
type CloneRefs struct {
	SrcRoot                 string        `json:"src_root"`
	Log                     string        `json:"log"`
	GitUserName             string        `json:"git_user_name,omitempty"`
	GitUserEmail            string        `json:"git_user_email,omitempty"`
	GitRefs                 []prowv1.Refs `json:"refs,omitempty"`
	KeyFiles                []string      `json:"key_files,omitempty"`
	OauthTokenFile          string        `json:"oauth_token_file,omitempty"`
	HostFingerprints        []string      `json:"host_fingerprints,omitempty"`
	MaxParallelWorkers      int           `json:"max_parallel_workers,omitempty"`
	Fail                    bool          `json:"fail,omitempty"`
	CookiePath              string        `json:"cookie_path,omitempty"`
	GitHubAPIEndpoints      []string      `json:"github_api_endpoints,omitempty"`
	GitHubAppID             string        `json:"github_app_id,omitempty"`
	GitHubAppPrivateKeyFile string        `json:"github_app_private_key_file,omitempty"`
}

// Default identity clonerefs commits merges with, as Prow's.
const (
	DefaultGitUserName  = "ci-robot"
	DefaultGitUserEmail = "ci-robot@k8s.io"
)

// Encode renders any options as the JSON their env var carries.
func Encode(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// Load reads a utility's options from its environment variable and its command line (see
// flagjson), naming the key that is wrong.
func Load(env string, v any) error {
	return LoadFrom(os.Args[1:], env, v)
}

// LoadFrom is Load with the command line given.
func LoadFrom(args []string, env string, v any) error {
	raw, env, err := flagjson.Resolve(args, env)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s: key %q: cannot use a JSON %s as %s", env, jsonPath(te.Field), te.Value, te.Type)
		}
		return fmt.Errorf("%s: %w", env, err)
	}
	return nil
}

// jsonPath drops the Go names of embedded structs that encoding/json puts in a field's path, leaving
// the keys a user wrote (all of which start lower-case).
func jsonPath(field string) string {
	var keep []string
	for _, part := range strings.Split(field, ".") {
		if part != "" && (part[0] < 'A' || part[0] > 'Z') {
			keep = append(keep, part)
		}
	}
	return strings.Join(keep, ".")
}
