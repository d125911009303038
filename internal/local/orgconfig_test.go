package local

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// testInfraConfig is test-infra's whole config: hundreds of periodics on many build clusters. It
// is loaded once for the tests that read it (seconds of work); they must not change it.
func testInfraConfig(t *testing.T) *config.Config {
	t.Helper()
	testutil.SharedTestdata(t, testInfraDir...) // skips where it is absent
	c, err := loadTestInfra()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var testInfraDir = []string{"prow-config", "test-infra", "config"}

var loadTestInfra = sync.OnceValues(func() (*config.Config, error) {
	root := filepath.Join(append([]string{testutil.SharedTestdataPath()}, testInfraDir...)...)
	c, _, err := config.Load(config.Options{ConfigPath: filepath.Join(root, "prow", "config.yaml"), JobConfigPath: filepath.Join(root, "jobs")})
	return c, err
})

// TestOrgConfigStartsNothingByDefault: prowl up with test-infra's config starts no periodic unless
// asked, says so, and starts exactly the ones named; an unknown name is an error naming it.
func TestOrgConfigStartsNothingByDefault(t *testing.T) {
	t.Parallel()
	c := testInfraConfig(t)
	if len(c.Periodics) <= MaxPeriodicsByDefault {
		t.Fatalf("test-infra has %d periodics; the test needs more than %d", len(c.Periodics), MaxPeriodicsByDefault)
	}
	var out strings.Builder
	sel, err := selectPeriodics(nil, c, &out)
	if err != nil {
		t.Fatal(err)
	}
	if got := sel.filter(func() *config.Config { return c })().Periodics; len(got) != 0 || !strings.Contains(out.String(), "none start (--periodics=all") {
		t.Errorf("default: %d periodics kept, said %q", len(got), out.String())
	}
	first, second := c.Periodics[0].Name, c.Periodics[1].Name
	sel, err = selectPeriodics([]string{first, second}, c, &out)
	if err != nil {
		t.Fatal(err)
	}
	kept := sel.filter(func() *config.Config { return c })().Periodics
	if len(kept) != 2 || kept[0].Name != first || kept[1].Name != second || len(c.Periodics) <= 2 {
		t.Errorf("--periodics %s,%s kept %d", first, second, len(kept))
	}
	sel, _ = selectPeriodics([]string{"all"}, c, &out)
	if got := sel.filter(func() *config.Config { return c })().Periodics; len(got) != len(c.Periodics) {
		t.Errorf("--periodics all kept %d of %d", len(got), len(c.Periodics))
	}
	if _, err := selectPeriodics([]string{"no-such-periodic"}, c, &out); err == nil || !strings.Contains(err.Error(), "no-such-periodic") {
		t.Errorf("unknown name: %v", err)
	}
}

// TestOrgConfigClustersRunLocally: by default the local node runs every alias test-infra names and
// says which; --build-clusters=default keeps only default's.
func TestOrgConfigClustersRunLocally(t *testing.T) {
	t.Parallel()
	c := testInfraConfig(t)
	var out strings.Builder
	if got := localClusters(nil, c, &out); len(got) != 1 || got[0] != "*" || !strings.Contains(out.String(), "k8s-infra-prow-build") {
		t.Errorf("default: %v, said %q", got, out.String())
	}
	out.Reset()
	if got := localClusters([]string{"default"}, c, &out); got != nil || !strings.Contains(out.String(), "end in error") {
		t.Errorf("--build-clusters=default: %v, said %q", got, out.String())
	}
}
