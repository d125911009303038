// Package entrypoint is the code behind the entrypoint pod utility, which runs the test command,
// tees its output, enforces the timeout and records the exit code. It imports only the standard
// library: the binary is copied into every job's Pod.
package entrypoint

import (
	"encoding/json"
	"time"

	"github.com/prowl-ci/prowl/internal/podutils/wrapper"
)

// OptionsEnv is the environment variable that carries Options as JSON.
const OptionsEnv = "ENTRYPOINT_OPTIONS"

// Options configure the entrypoint, with Prow's JSON keys; durations are integer nanoseconds.
type Options struct {
	// Timeout is how long the command may run before it is interrupted.
	Timeout time.Duration `json:"timeout"`
	// GracePeriod is how long an interrupted command has before it is killed.
	GracePeriod time.Duration `json:"grace_period"`
	// ArtifactDir is created before the command starts.
	ArtifactDir string `json:"artifact_dir"`
	// PreviousMarker, when set, makes the entrypoint wait for that marker first.
	PreviousMarker string `json:"previous_marker,omitempty"`
	// AlwaysZero makes the entrypoint exit 0 whatever the command did.
	AlwaysZero bool `json:"always_zero,omitempty"`
	// PropagateErrorCode makes the entrypoint exit with the command's code.
	PropagateErrorCode bool `json:"propagate_error_code,omitempty"`

	*wrapper.Options `json:",inline"`
}

// Encode renders options as the JSON the env var carries.
func (o *Options) Encode() (string, error) {
	b, err := json.Marshal(o)
	return string(b), err
}
