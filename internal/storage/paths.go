// Package storage knows where a job's files go in object storage: Prow's layout of paths inside a
// bucket, and buckets named gs://, s3:// or file:// (a bare name means gs://).
package storage

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/downwardapi"
)

// The top directories of Prow's layout.
const (
	PRLogs    = "pr-logs"
	NonPRLogs = "logs"
)

// Path strategies: how a presubmit's path names its repository.
const (
	PathStrategyLegacy   = "legacy"
	PathStrategySingle   = "single"
	PathStrategyExplicit = "explicit"
)

// repoSegment is the path segment that names a presubmit's repository under a strategy: legacy
// leaves out the default org and, for it, the default repo; single leaves out only the default
// org/repo; explicit always says org_repo. A Gerrit org's https:// is dropped and a repo's slashes
// become underscores.
func repoSegment(gcs *prowv1.GCSConfiguration, org, repo string) string {
	strategy, defOrg, defRepo := PathStrategyExplicit, "", ""
	if gcs != nil {
		strategy, defOrg, defRepo = gcs.PathStrategy, gcs.DefaultOrg, gcs.DefaultRepo
	}
	switch strategy {
	case PathStrategyLegacy:
		if org == defOrg {
			if repo == defRepo {
				return ""
			}
			return repo
		}
	case PathStrategySingle:
		if org == defOrg && repo == defRepo {
			return ""
		}
	}
	org = strings.TrimPrefix(strings.TrimPrefix(org, "https://"), "http://")
	return org + "_" + strings.ReplaceAll(repo, "/", "_")
}

func withPrefix(gcs *prowv1.GCSConfiguration, p string) string {
	if gcs != nil && gcs.PathPrefix != "" {
		return path.Join(gcs.PathPrefix, p)
	}
	return p
}

// JobDir is the directory, inside the bucket, of one run of a job: logs/<job>/<build> for periodics
// and postsubmits, pr-logs/pull/<repo segment>/<PR>/<job>/<build> for presubmits,
// pr-logs/pull/batch/<job>/<build> for batches; under path_prefix when set. A job name, build ID,
// org or repo that would lead out of that directory ("..", a slash, a NUL) is an error: a
// ProwJob created by hand must not write over another job's runs.
func JobDir(spec downwardapi.JobSpec, gcs *prowv1.GCSConfiguration) (string, error) {
	if err := checkSegments(spec); err != nil {
		return "", err
	}
	switch spec.Type {
	case prowv1.PeriodicJob, prowv1.PostsubmitJob:
		return withPrefix(gcs, path.Join(NonPRLogs, spec.Job, spec.BuildID)), nil
	case prowv1.PresubmitJob:
		if spec.Refs == nil || len(spec.Refs.Pulls) == 0 {
			return "", fmt.Errorf("presubmit %s has no pull request in its refs", spec.Job)
		}
		return withPrefix(gcs, path.Join(PRLogs, "pull", repoSegment(gcs, spec.Refs.Org, spec.Refs.Repo), strconv.Itoa(spec.Refs.Pulls[0].Number), spec.Job, spec.BuildID)), nil
	case prowv1.BatchJob:
		return withPrefix(gcs, path.Join(PRLogs, "pull", "batch", spec.Job, spec.BuildID)), nil
	}
	return "", fmt.Errorf("job %s has unknown type %q", spec.Job, spec.Type)
}

// checkSegments refuses the names JobDir puts into a path that could climb out of it.
func checkSegments(spec downwardapi.JobSpec) error {
	fields := [][2]string{{"job", spec.Job}, {"build ID", spec.BuildID}}
	if spec.Refs != nil {
		// The org may be a Gerrit host with a scheme (https://host), whose slashes are dropped.
		org := strings.TrimPrefix(strings.TrimPrefix(spec.Refs.Org, "https://"), "http://")
		fields = append(fields, [2]string{"refs.org", org}, [2]string{"refs.repo", spec.Refs.Repo})
	}
	for _, f := range fields {
		for _, seg := range strings.Split(f[1], "/") {
			if seg == "." || seg == ".." || strings.ContainsRune(seg, 0) || (f[0] != "refs.repo" && strings.Contains(f[1], "/")) {
				return fmt.Errorf("job %q: %s %q cannot name a storage path (no '/', '.', '..' or NUL); rename it", spec.Job, f[0], f[1])
			}
		}
	}
	return nil
}

// LatestBuildPaths are where the job's latest-build.txt files go: logs/<job>/ for periodics and
// postsubmits; pr-logs/directory/<job>/ and the pull request's own job directory for presubmits;
// pr-logs/directory/<job>/ for batches.
func LatestBuildPaths(spec downwardapi.JobSpec, gcs *prowv1.GCSConfiguration) []string {
	var paths []string
	switch spec.Type {
	case prowv1.PeriodicJob, prowv1.PostsubmitJob:
		paths = []string{path.Join(NonPRLogs, spec.Job, "latest-build.txt")}
	case prowv1.PresubmitJob:
		paths = []string{path.Join(PRLogs, "directory", spec.Job, "latest-build.txt")}
		if spec.Refs != nil && len(spec.Refs.Pulls) > 0 {
			paths = append(paths, path.Join(PRLogs, "pull", repoSegment(gcs, spec.Refs.Org, spec.Refs.Repo), strconv.Itoa(spec.Refs.Pulls[0].Number), spec.Job, "latest-build.txt"))
		}
	case prowv1.BatchJob:
		paths = []string{path.Join(PRLogs, "directory", spec.Job, "latest-build.txt")}
	}
	for i := range paths {
		paths[i] = withPrefix(gcs, paths[i])
	}
	return paths
}

// AliasPath is, for a presubmit, the file pr-logs/directory/<job>/<build>.txt that points at its
// job directory, so that a job's runs can be listed across pull requests; "" for other types.
func AliasPath(spec downwardapi.JobSpec, gcs *prowv1.GCSConfiguration) string {
	if spec.Type != prowv1.PresubmitJob {
		return ""
	}
	return withPrefix(gcs, path.Join(PRLogs, "directory", spec.Job, spec.BuildID+".txt"))
}

// Bucket is a parsed bucket name.
type Bucket struct {
	// Provider is gs, s3 or file.
	Provider string
	// Name is the bucket's name, or for file the directory's path.
	Name string
}

// URL is the bucket as gocloud.dev/blob opens it.
func (b Bucket) URL() string {
	if b.Provider == "file" {
		return "file://" + b.Name
	}
	return b.Provider + "://" + b.Name
}

// ParseBucket reads gs://name, s3://name, file:///path, or a bare name meaning gs://name.
func ParseBucket(bucket string) (Bucket, error) {
	provider, name, ok := strings.Cut(bucket, "://")
	if !ok {
		provider, name = "gs", bucket
	}
	switch provider {
	case "gs", "s3", "file":
	default:
		return Bucket{}, fmt.Errorf("bucket %q: unknown storage %q; use gs://, s3:// or file://", bucket, provider)
	}
	if name == "" {
		return Bucket{}, fmt.Errorf("bucket %q has no name", bucket)
	}
	return Bucket{Provider: provider, Name: name}, nil
}
