package storage

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/downwardapi"
)

func TestJobDirs(t *testing.T) {
	t.Parallel()
	pull := func(org, repo string) *prowv1.Refs {
		return &prowv1.Refs{Org: org, Repo: repo, BaseRef: "main", Pulls: []prowv1.Pull{{Number: 42}}}
	}
	gcs := func(strategy, prefix string) *prowv1.GCSConfiguration {
		return &prowv1.GCSConfiguration{PathStrategy: strategy, DefaultOrg: "kubernetes", DefaultRepo: "kubernetes", PathPrefix: prefix}
	}
	for _, tc := range []struct {
		name        string
		spec        downwardapi.JobSpec
		gcs         *prowv1.GCSConfiguration
		dir, alias  string
		latestBuild []string
	}{
		{"periodic", downwardapi.JobSpec{Type: prowv1.PeriodicJob, Job: "echo-test", BuildID: "7"}, gcs("legacy", ""), "logs/echo-test/7", "", []string{"logs/echo-test/latest-build.txt"}},
		{"postsubmit with prefix", downwardapi.JobSpec{Type: prowv1.PostsubmitJob, Job: "post", BuildID: "7", Refs: pull("o", "r")}, gcs("explicit", "ci"), "ci/logs/post/7", "", []string{"ci/logs/post/latest-build.txt"}},
		{"presubmit legacy default repo", downwardapi.JobSpec{Type: prowv1.PresubmitJob, Job: "pull-k", BuildID: "7", Refs: pull("kubernetes", "kubernetes")}, gcs("legacy", ""), "pr-logs/pull/42/pull-k/7", "pr-logs/directory/pull-k/7.txt", []string{"pr-logs/directory/pull-k/latest-build.txt", "pr-logs/pull/42/pull-k/latest-build.txt"}},
		{"presubmit legacy default org", downwardapi.JobSpec{Type: prowv1.PresubmitJob, Job: "j", BuildID: "7", Refs: pull("kubernetes", "test-infra")}, gcs("legacy", ""), "pr-logs/pull/test-infra/42/j/7", "pr-logs/directory/j/7.txt", nil},
		{"presubmit legacy other org", downwardapi.JobSpec{Type: prowv1.PresubmitJob, Job: "j", BuildID: "7", Refs: pull("kubernetes-sigs", "kind")}, gcs("legacy", ""), "pr-logs/pull/kubernetes-sigs_kind/42/j/7", "pr-logs/directory/j/7.txt", nil},
		{"presubmit single default", downwardapi.JobSpec{Type: prowv1.PresubmitJob, Job: "j", BuildID: "7", Refs: pull("kubernetes", "kubernetes")}, gcs("single", ""), "pr-logs/pull/42/j/7", "pr-logs/directory/j/7.txt", nil},
		{"presubmit single default org", downwardapi.JobSpec{Type: prowv1.PresubmitJob, Job: "j", BuildID: "7", Refs: pull("kubernetes", "test-infra")}, gcs("single", ""), "pr-logs/pull/kubernetes_test-infra/42/j/7", "pr-logs/directory/j/7.txt", nil},
		{"presubmit explicit", downwardapi.JobSpec{Type: prowv1.PresubmitJob, Job: "j", BuildID: "7", Refs: pull("kubernetes", "kubernetes")}, gcs("explicit", "p"), "p/pr-logs/pull/kubernetes_kubernetes/42/j/7", "p/pr-logs/directory/j/7.txt", nil},
		{"presubmit gerrit", downwardapi.JobSpec{Type: prowv1.PresubmitJob, Job: "j", BuildID: "7", Refs: pull("https://host.example", "a/b")}, gcs("explicit", ""), "pr-logs/pull/host.example_a_b/42/j/7", "pr-logs/directory/j/7.txt", nil},
		{"batch", downwardapi.JobSpec{Type: prowv1.BatchJob, Job: "j", BuildID: "7", Refs: pull("o", "r")}, gcs("legacy", ""), "pr-logs/pull/batch/j/7", "", []string{"pr-logs/directory/j/latest-build.txt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, err := JobDir(tc.spec, tc.gcs)
			if err != nil {
				t.Fatal(err)
			}
			if dir != tc.dir {
				t.Errorf("JobDir = %q, want %q", dir, tc.dir)
			}
			if a := AliasPath(tc.spec, tc.gcs); a != tc.alias {
				t.Errorf("AliasPath = %q, want %q", a, tc.alias)
			}
			if tc.latestBuild != nil {
				if diff := cmp.Diff(tc.latestBuild, LatestBuildPaths(tc.spec, tc.gcs)); diff != "" {
					t.Errorf("LatestBuildPaths (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestParseBucket(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Bucket{
		"prow-handson-5963":       {"gs", "prow-handson-5963"},
		"gs://kubernetes-ci-logs": {"gs", "kubernetes-ci-logs"},
		"s3://artifacts":          {"s3", "artifacts"},
		"file:///var/prowl":       {"file", "/var/prowl"},
	} {
		got, err := ParseBucket(in)
		if err != nil || got != want {
			t.Errorf("ParseBucket(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	if got := (Bucket{"file", "/var/prowl"}).URL(); got != "file:///var/prowl" {
		t.Errorf("URL() = %q", got)
	}
	for _, bad := range []string{"ftp://x", "gs://", ""} {
		if _, err := ParseBucket(bad); err == nil {
			t.Errorf("ParseBucket(%q) succeeded", bad)
		}
	}
}
