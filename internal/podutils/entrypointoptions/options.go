// Package entrypointoptions holds the entrypoint's options: what decoration writes into
// ENTRYPOINT_OPTIONS and the entrypoint reads. It is a package of its own, importing only the
// standard library and wrapper, so that decoration and the sidecar need not import the
// entrypoint's runner, and the entrypoint binary stays small.
package entrypointoptions

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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

// Decode reads options from JSON, naming the key that is wrong (the caller names the source).
func Decode(data string) (*Options, error) {
	o := &Options{}
	dec := json.NewDecoder(strings.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(o); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("key %q: cannot use a JSON %s as %s", te.Field, te.Value, te.Type)
		}
		return nil, err
	}
	return o, o.Validate()
}

// Validate checks that the options can run.
func (o *Options) Validate() error {
	switch {
	case o.Options == nil || len(o.Args) == 0:
		return errors.New(`key "args": no command to run`)
	case o.ProcessLog == "":
		return errors.New(`key "process_log" is required`)
	case o.MarkerFile == "":
		return errors.New(`key "marker_file" is required`)
	case o.Timeout < 0 || o.GracePeriod < 0:
		return errors.New(`keys "timeout" and "grace_period" must not be negative`)
	}
	return nil
}
