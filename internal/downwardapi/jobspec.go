package downwardapi

import (
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// JobSpec is what a job learns of its own run through $JOB_SPEC, with Prow's JSON keys.
type JobSpec struct {
	Type             prowv1.ProwJobType       `json:"type,omitempty"`
	Job              string                   `json:"job,omitempty"`
	BuildID          string                   `json:"buildid,omitempty"`
	ProwJobID        string                   `json:"prowjobid,omitempty"`
	Refs             *prowv1.Refs             `json:"refs,omitempty"`
	ExtraRefs        []prowv1.Refs            `json:"extra_refs,omitempty"`
	DecorationConfig *prowv1.DecorationConfig `json:"decoration_config,omitempty"`

	agent prowv1.ProwJobAgent
}

// NewJobSpec is the JobSpec of one run of a ProwJob.
func NewJobSpec(spec prowv1.ProwJobSpec, buildID, prowJobID string) JobSpec {
	return JobSpec{
		Type: spec.Type, Job: spec.Job, BuildID: buildID, ProwJobID: prowJobID,
		Refs: spec.Refs, ExtraRefs: spec.ExtraRefs, DecorationConfig: spec.DecorationConfig,
		agent: spec.Agent,
	}
}

// Env is the downward API: the variables a job of this spec sees, by name.
func (s JobSpec) Env() (map[string]string, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode job spec: %w", err)
	}
	env := map[string]string{
		CIEnv: "true", JobNameEnv: s.Job, BuildIDEnv: s.BuildID, ProwJobIDEnv: s.ProwJobID,
		JobTypeEnv: string(s.Type), JobSpecEnv: string(raw),
	}
	if s.agent == prowv1.KubernetesAgent {
		env[BuildNumEnv] = s.BuildID
	}
	if s.Type == prowv1.PeriodicJob || s.Refs == nil {
		return env, nil
	}
	r := s.Refs
	env[RepoOwnerEnv], env[RepoNameEnv] = r.Org, r.Repo
	host, base, _ := strings.Cut(RepoPath(*r), "/")
	env[SrcHostEnv], env[SrcBaseEnv] = host, base
	env[PullBaseRef], env[PullBaseSha], env[PullRefsEnv] = r.BaseRef, r.BaseSHA, RefsString(*r)
	if s.Type != prowv1.PresubmitJob || len(r.Pulls) == 0 {
		return env, nil
	}
	p := r.Pulls[0]
	env[PullNumberEnv], env[PullPullSha], env[PullHeadRef], env[PullTitleEnv] = strconv.Itoa(p.Number), p.SHA, p.HeadRef, p.Title
	return env, nil
}

// RepoPath is where a repository is cloned below $GOPATH/src: its path_alias, else the host and path
// of its repo_link, else github.com/org/repo.
func RepoPath(r prowv1.Refs) string {
	switch {
	case r.PathAlias != "":
		return r.PathAlias
	case r.RepoLink != "":
		parts := strings.Split(r.RepoLink, "://")
		return parts[len(parts)-1]
	}
	return path.Join("github.com", r.Org, r.Repo)
}

// RefsString is Prow's compact form of refs, as in $PULL_REFS: base_ref:base_sha,N:sha,...
func RefsString(r prowv1.Refs) string {
	parts := []string{r.BaseRef}
	if r.BaseSHA != "" {
		parts[0] += ":" + r.BaseSHA
	}
	for _, p := range r.Pulls {
		s := fmt.Sprintf("%d:%s", p.Number, p.SHA)
		if p.Ref != "" {
			s += ":" + p.Ref
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ",")
}
