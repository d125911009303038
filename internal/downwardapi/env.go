// Package downwardapi names the environment variables through which a job learns about its own run
// (Prow's downward API): who it is, which build, which refs. The decorator sets them and the config
// loader reserves them.
package downwardapi

import prowv1 "github.com/prowl-ci/prowl/api/v1"

// The variables, as Prow names them.
const (
	JobNameEnv    = "JOB_NAME"
	JobSpecEnv    = "JOB_SPEC"
	JobTypeEnv    = "JOB_TYPE"
	ProwJobIDEnv  = "PROW_JOB_ID"
	BuildIDEnv    = "BUILD_ID"
	BuildNumEnv   = "BUILD_NUMBER"
	CIEnv         = "CI"
	RepoOwnerEnv  = "REPO_OWNER"
	RepoNameEnv   = "REPO_NAME"
	SrcHostEnv    = "SRC_HOST"
	SrcBaseEnv    = "SRC_BASE"
	PullBaseRef   = "PULL_BASE_REF"
	PullBaseSha   = "PULL_BASE_SHA"
	PullRefsEnv   = "PULL_REFS"
	PullNumberEnv = "PULL_NUMBER"
	PullPullSha   = "PULL_PULL_SHA"
	PullHeadRef   = "PULL_HEAD_REF"
	PullTitleEnv  = "PULL_TITLE"
)

// EnvNamesForType lists the variables set for a job of type t, which a job must not set itself.
func EnvNamesForType(t prowv1.ProwJobType) []string {
	names := []string{JobNameEnv, JobSpecEnv, JobTypeEnv, ProwJobIDEnv, BuildIDEnv, BuildNumEnv, CIEnv}
	if t == prowv1.PeriodicJob {
		return names
	}
	names = append(names, RepoOwnerEnv, RepoNameEnv, SrcHostEnv, SrcBaseEnv, PullBaseRef, PullBaseSha, PullRefsEnv)
	if t == prowv1.PresubmitJob {
		names = append(names, PullNumberEnv, PullPullSha, PullHeadRef, PullTitleEnv)
	}
	return names
}
