package jobs

import (
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// TestJobURLTestInfra uses test-infra's real plank config: its prefix config and its template
// give the same URL for a periodic, as Prow's deployment relies on.
func TestJobURLTestInfra(t *testing.T) {
	t.Parallel()
	root := testutil.SharedTestdata(t, "prow-config", "test-infra", "config")
	c, _, err := config.Load(config.Options{ConfigPath: filepath.Join(root, "prow", "config.yaml"), JobConfigPath: filepath.Join(root, "jobs")})
	if err != nil {
		t.Fatal(err)
	}
	var periodic *config.Periodic
	for i := range c.Periodics {
		if c.Periodics[i].Decorated() && len(c.Periodics[i].ExtraRefs) > 0 && c.Periodics[i].ExtraRefs[0].Org == "kubernetes" {
			periodic = &c.Periodics[i]
			break
		}
	}
	pj := NewBuilder(c).Periodic(periodic)
	pj.Status.BuildID = "1234"
	got, err := JobURL(&c.Plank, pj)
	if err != nil {
		t.Fatal(err)
	}
	want := "https://prow.k8s.io/view/gs/kubernetes-ci-logs/logs/" + periodic.Name + "/1234"
	if got != want {
		t.Errorf("prefix URL = %q, want %q", got, want)
	}
	plank := c.Plank
	plank.JobURLPrefixConfig = nil
	fromTemplate, err := JobURL(&plank, pj)
	if err != nil {
		t.Fatal(err)
	}
	if fromTemplate != want+"/" {
		t.Errorf("template URL = %q, want %q", fromTemplate, want+"/")
	}
}

func TestJobURLPresubmitPrefixes(t *testing.T) {
	t.Parallel()
	plank := &config.Plank{JobURLPrefixConfig: map[string]string{"*": "https://deck/view/", "org": "https://org-deck/view", "org/special": "https://special/view/"}, JobURLPrefixDisableAppendStorageProvider: false}
	pj := &prowv1.ProwJob{Spec: prowv1.ProwJobSpec{
		Type: prowv1.PresubmitJob, Job: "unit",
		Refs:             &prowv1.Refs{Org: "org", Repo: "repo", Pulls: []prowv1.Pull{{Number: 3}}},
		DecorationConfig: &prowv1.DecorationConfig{GCSConfiguration: &prowv1.GCSConfiguration{Bucket: "s3://b", PathStrategy: "explicit"}},
	}, Status: prowv1.ProwJobStatus{BuildID: "9"}}
	for repo, want := range map[string]string{
		"repo":    "https://org-deck/view/s3/b/pr-logs/pull/org_repo/3/unit/9",
		"special": "https://special/view/s3/b/pr-logs/pull/org_special/3/unit/9",
	} {
		pj.Spec.Refs.Repo = repo
		got, err := JobURL(plank, pj)
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", repo, got, err, want)
		}
	}
}

func TestBuildIDsAreUniqueAndIncreasing(t *testing.T) {
	t.Parallel()
	ids, err := NewBuildIDs(5)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last uint64
			for range 5000 {
				id := ids.Next()
				n, err := strconv.ParseUint(id, 10, 64)
				if err != nil {
					t.Errorf("build ID %q is not decimal", id)
					return
				}
				if n <= last {
					t.Errorf("build ID %d after %d: not increasing", n, last)
				}
				last = n
				mu.Lock()
				if seen[id] {
					t.Errorf("build ID %s handed out twice", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	other, err := NewBuildIDs(6)
	if err != nil {
		t.Fatal(err)
	}
	if id := other.Next(); seen[id] {
		t.Errorf("two nodes handed out %s", id)
	}
	if _, err := NewBuildIDs(2000); err == nil {
		t.Error("node 2000 accepted; nodes are 0-1023")
	}
	if _, err := NewBuildIDs(-1); err != nil {
		t.Errorf("derive node from hostname: %v", err)
	}
}
