package storage

import (
	"path"
	"strings"
	"testing"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/downwardapi"
)

// FuzzJobDir: whatever a ProwJob names its job, build, org and repo, its directory (and its
// latest-build and alias files) stays under its prefix's top directory, or JobDir refuses it.
func FuzzJobDir(f *testing.F) {
	for _, s := range [][7]string{
		{"periodic", "echo-test", "7", "", "", "legacy", ""},
		{"presubmit", "pull-k", "1234", "kubernetes", "kubernetes", "legacy", "ci"},
		{"presubmit", "j", "7", "https://host.example", "a/b", "explicit", ""},
		{"batch", "j", "7", "o", "r", "single", "p/q"},
		{"postsubmit", "../../etc", "1", "o", "r", "explicit", ""},
		{"presubmit", "j", "..", "kubernetes", "..", "legacy", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5], s[6], 42)
	}
	f.Fuzz(func(t *testing.T, typ, job, buildID, org, repo, strategy, prefix string, number int) {
		spec := downwardapi.JobSpec{Type: prowv1.ProwJobType(typ), Job: job, BuildID: buildID,
			Refs: &prowv1.Refs{Org: org, Repo: repo, Pulls: []prowv1.Pull{{Number: number}}}}
		gcs := &prowv1.GCSConfiguration{PathStrategy: strategy, DefaultOrg: "kubernetes", DefaultRepo: "kubernetes", PathPrefix: prefix}
		dir, err := JobDir(spec, gcs)
		if err != nil {
			return
		}
		top := withPrefix(gcs, NonPRLogs)
		if spec.Type == prowv1.PresubmitJob || spec.Type == prowv1.BatchJob {
			top = withPrefix(gcs, PRLogs)
		}
		under := func(p string) bool { return strings.HasPrefix(p, top+"/") && path.Clean(p) == p }
		if !under(dir) {
			t.Fatalf("JobDir %q escapes %q (job %q, build %q, org %q, repo %q)", dir, top, job, buildID, org, repo)
		}
		for _, p := range append(LatestBuildPaths(spec, gcs), AliasPath(spec, gcs)) {
			if p != "" && !under(p) {
				t.Fatalf("%q escapes %q (job %q, build %q)", p, top, job, buildID)
			}
		}
	})
}
