package jobs

import (
	"path/filepath"
	"testing"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// TestTestInfraBloblessFetch: test-infra's global default decoration config sets blobless_fetch
// and no job sets it itself, so Prow's ProwJob of every decorated job carries blobless_fetch:
// true in its refs and in every extra ref, and that of every undecorated job carries none. The
// ProwJobs are built as `prowl mkpj` builds them.
func TestTestInfraBloblessFetch(t *testing.T) {
	t.Parallel()
	root := testutil.SharedTestdata(t, "prow-config", "test-infra", "config")
	c, _, err := config.Load(config.Options{ConfigPath: filepath.Join(root, "prow", "config.yaml"), JobConfigPath: filepath.Join(root, "jobs")})
	if err != nil {
		t.Fatal(err)
	}
	b := NewBuilder(c)
	refs := func(repo string) prowv1.Refs {
		r := baseRefs(repo, RefsOptions{BaseRef: "main", BaseSHA: "0123456789abcdef"})
		r.Pulls = []prowv1.Pull{{Number: 1, Author: "alice", SHA: "fedcba9876543210"}}
		return r
	}
	type built struct {
		pj        *prowv1.ProwJob
		decorated bool
	}
	var all []built
	for i := range c.Periodics {
		all = append(all, built{b.Periodic(&c.Periodics[i]), c.Periodics[i].Decorated()})
	}
	for repo, jobs := range c.PresubmitsStatic {
		for i := range jobs {
			all = append(all, built{b.Presubmit(&jobs[i], refs(repo)), jobs[i].Decorated()})
		}
	}
	for repo, jobs := range c.PostsubmitsStatic {
		for i := range jobs {
			all = append(all, built{b.Postsubmit(&jobs[i], baseRefs(repo, RefsOptions{BaseRef: "main", BaseSHA: "0123456789abcdef"})), jobs[i].Decorated()})
		}
	}
	withBlobless, wrong := 0, 0
	for _, x := range all {
		var rs []*prowv1.Refs
		if x.pj.Spec.Refs != nil {
			rs = append(rs, x.pj.Spec.Refs)
		}
		for i := range x.pj.Spec.ExtraRefs {
			rs = append(rs, &x.pj.Spec.ExtraRefs[i])
		}
		for _, r := range rs {
			got := r.BloblessFetch != nil && *r.BloblessFetch
			if got != x.decorated || (!x.decorated && r.BloblessFetch != nil) {
				if wrong++; wrong <= 5 {
					t.Errorf("job %s (decorated %v): refs %s/%s blobless_fetch %v", x.pj.Spec.Job, x.decorated, r.Org, r.Repo, r.BloblessFetch)
				}
			}
			if got {
				withBlobless++
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d refs differ from Prow's", wrong)
	}
	if withBlobless < 3000 {
		t.Errorf("only %d refs have blobless_fetch; test-infra's decorated jobs have thousands", withBlobless)
	}
	t.Logf("%d refs with blobless_fetch across %d ProwJobs", withBlobless, len(all))
}

// TestSparseCheckoutFilesPrimaryRefsOnly: decoration_config.sparse_checkout_files goes into the
// primary refs of a presubmit or postsubmit, not into extra refs, and refs that set their own keep
// them; blobless_fetch goes into both unless they set it.
func TestSparseCheckoutFilesPrimaryRefsOnly(t *testing.T) {
	t.Parallel()
	no := false
	yes := true
	j := &config.Presubmit{JobBase: config.JobBase{Name: "j", UtilityConfig: config.UtilityConfig{
		ExtraRefs:        []prowv1.Refs{{Org: "o", Repo: "extra"}, {Org: "o", Repo: "own", BloblessFetch: &no}},
		DecorationConfig: &prowv1.DecorationConfig{SparseCheckoutFiles: []string{"pkg"}, BloblessFetch: &yes},
	}}}
	pj := NewBuilder(&config.Config{}).Presubmit(j, prowv1.Refs{Org: "o", Repo: "r", BaseRef: "main"})
	if r := pj.Spec.Refs; len(r.SparseCheckoutFiles) != 1 || r.BloblessFetch == nil || !*r.BloblessFetch {
		t.Errorf("primary refs: sparse %v blobless %v", r.SparseCheckoutFiles, r.BloblessFetch)
	}
	if e := pj.Spec.ExtraRefs[0]; len(e.SparseCheckoutFiles) != 0 || e.BloblessFetch == nil || !*e.BloblessFetch {
		t.Errorf("extra ref: sparse %v blobless %v", e.SparseCheckoutFiles, e.BloblessFetch)
	}
	if e := pj.Spec.ExtraRefs[1]; *e.BloblessFetch {
		t.Error("an extra ref's own blobless_fetch: false was overridden")
	}
	if j.ExtraRefs[0].BloblessFetch != nil {
		t.Error("building the ProwJob changed the job config's extra refs")
	}
}
