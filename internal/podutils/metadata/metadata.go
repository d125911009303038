// Package metadata holds started.json and finished.json, the two files every job run uploads,
// with the keys Prow's pod utilities write (TestGrid, Spyglass and Gubernator read them).
package metadata

import (
	"strconv"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/downwardapi"
)

// Started is started.json.
type Started struct {
	Timestamp  int64             `json:"timestamp"`
	Node       string            `json:"node,omitempty"`
	Pull       string            `json:"pull,omitempty"`
	Repos      map[string]string `json:"repos,omitempty"`
	RepoCommit string            `json:"repo-commit,omitempty"`
	// RepoVersion is the deprecated name of RepoCommit, still read by older tools.
	RepoVersion string         `json:"repo-version,omitempty"`
	Metadata    map[string]any `json:"metadata,omitempty"`
}

// Finished is finished.json.
type Finished struct {
	Timestamp *int64 `json:"timestamp,omitempty"`
	Passed    *bool  `json:"passed,omitempty"`
	// Result is SUCCESS, FAILURE or ABORTED.
	Result   string         `json:"result,omitempty"`
	Revision string         `json:"revision,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

// The results finished.json records.
const (
	ResultSuccess = "SUCCESS"
	ResultFailure = "FAILURE"
	ResultAborted = "ABORTED"
)

// CloneRecord is what clonerefs records of one repository's clone, in clone.json.
type CloneRecord struct {
	Refs     prowv1.Refs `json:"refs"`
	Commands []Command   `json:"commands,omitempty"`
	Failed   bool        `json:"failed,omitempty"`
	// FinalSHA is HEAD after the pulls were merged.
	FinalSHA string `json:"final_sha,omitempty"`
	// Duration is how long the clone took, in nanoseconds.
	Duration int64 `json:"duration,omitempty"`
}

// Command is one command clonerefs ran.
type Command struct {
	Command  string `json:"command"`
	Output   string `json:"output,omitempty"`
	Error    string `json:"error,omitempty"`
	Duration int64  `json:"duration,omitempty"`
}

// mainRefs is the repository a job is about: refs, else the first extra ref that is not auxiliary.
func mainRefs(spec downwardapi.JobSpec) *prowv1.Refs {
	if spec.Refs != nil {
		return spec.Refs
	}
	for i := range spec.ExtraRefs {
		if !spec.ExtraRefs[i].Auxiliary {
			return &spec.ExtraRefs[i]
		}
	}
	return nil
}

// Revision is the commit a run tested: the merged HEAD that clonerefs recorded for the main
// repository, else its first pull's SHA, its base SHA or its base ref.
func Revision(spec downwardapi.JobSpec, clones []CloneRecord) string {
	r := mainRefs(spec)
	if r == nil {
		return ""
	}
	for _, c := range clones {
		if c.Refs.Org == r.Org && c.Refs.Repo == r.Repo && c.FinalSHA != "" {
			return c.FinalSHA
		}
	}
	switch {
	case len(r.Pulls) > 0:
		return r.Pulls[0].SHA
	case r.BaseSHA != "":
		return r.BaseSHA
	}
	return r.BaseRef
}

// NewStarted is started.json for a run that starts at timestamp (Unix seconds).
func NewStarted(spec downwardapi.JobSpec, clones []CloneRecord, timestamp int64) Started {
	s := Started{Timestamp: timestamp, Repos: map[string]string{}}
	rev := Revision(spec, clones)
	s.RepoCommit, s.RepoVersion = rev, rev
	if spec.Refs != nil {
		if len(spec.Refs.Pulls) > 0 {
			s.Pull = strconv.Itoa(spec.Refs.Pulls[0].Number)
		}
		s.Repos[spec.Refs.Org+"/"+spec.Refs.Repo] = downwardapi.RefsString(*spec.Refs)
	}
	for _, r := range spec.ExtraRefs {
		s.Repos[r.Org+"/"+r.Repo] = downwardapi.RefsString(r)
	}
	return s
}
