package spyglass

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/prowl-ci/prowl/internal/testutil"
)

// deckSection reads the deck section of a Prow config file and lets Spyglass read bucket.
func deckSection(t *testing.T, file, bucket string) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Deck map[string]any `json:"deck"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	cfg.Deck["additional_allowed_buckets"] = []string{bucket}
	out, err := json.Marshal(cfg.Deck)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// lensRun is a run with files for every lens, some where test-infra's config does not look.
func lensRun(t *testing.T, be testBackend) string {
	r := failingRun()
	r.log = "step 1 ok\nWARNING: DATA RACE in widgets\nstep 3 ok\n"
	r.artifacts["filtered.cov"] = "mode: set\n"
	r.artifacts["e2e/build-log.txt"] = "nested log: Unexpected error in e2e\n"
	dir := makeRun(t, be, r)
	put(t, be, dir+"/junit_outside.xml", `<testsuite name="outside"><testcase name="TestOutsideArtifacts"/></testsuite>`)
	return dir
}

// sectionOrder is the ids of the page's lens sections, in order.
func sectionOrder(body string) []string {
	var ids []string
	for _, part := range strings.Split(body, `data-lens="`)[1:] {
		ids = append(ids, part[:strings.IndexByte(part, '"')])
	}
	return ids
}

// TestLensesFromTestInfraConfig: test-infra's own deck.spyglass.lenses decide the lenses, their
// order (Prow's priorities), their files and the buildlog lens' highlights.
func TestLensesFromTestInfraConfig(t *testing.T) {
	t.Parallel()
	file := testutil.SharedTestdata(t, "prow-config", "test-infra", "config", "prow", "config.yaml")
	be := fileBackend(t)
	dir := lensRun(t, be)
	s := newServer(t, be, testConfig(be.bucket, deckSection(t, file, be.bucket)), Options{})
	code, body := s.get(t, "/view/"+src(be, dir))
	if code != http.StatusOK {
		t.Fatalf("run page = %d:\n%s", code, body)
	}
	// metadata 0, junit 5, buildlog 10, links 20; coverage and podinfo are Prow's only.
	if got, want := strings.Join(sectionOrder(body), ","), "metadata,junit,buildlog,links,artifacts"; got != want {
		t.Errorf("sections %s, want %s", got, want)
	}
	for _, want := range []string{
		`<span class="hl">DATA RACE</span>`,        // test-infra's highlight_regexes, not Prow's default
		`e2e/build-log.txt`,                        // ^.*build-log\.txt$ matches nested logs too
		`<span class="hl">Unexpected error</span>`, // and highlights them
		`pkg.TestDivides`,                          // ^artifacts(/.*/|/)junit.*\.xml$
		`href="https://dashboards.example.com/run/1001"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("run page lacks %q", want)
		}
	}
	if strings.Contains(body, "TestOutsideArtifacts") {
		t.Error("junit_outside.xml is outside artifacts/, where test-infra's junit regex does not look")
	}
}

// TestLensesChosenByFiles: a lens shows only when every required regex matches a file, gets the
// files its required and optional regexes matched, and a broken entry says which field to fix.
func TestLensesChosenByFiles(t *testing.T) {
	t.Parallel()
	be := fileBackend(t)
	dir := lensRun(t, be)
	deck := `{"additional_allowed_buckets":[%q],"spyglass":{"lenses":[
		{"lens":{"name":"junit"},"required_files":["^junit_outside\\.xml$"]},
		{"lens":{"name":"metadata"},"required_files":["^started\\.json$","^missing\\.json$"]},
		{"lens":{"name":"buildlog"},"required_files":["^artifacts/e2e/build-log\\.txt$"]},
		{"lens":{"name":"podinfo"},"required_files":["^started\\.json$"]},
		{"lens":{"name":"buidlog"},"required_files":["build-log.txt"]},
		{"lens":{"name":"links"},"required_files":["("]}]}}`
	raw, _ := json.Marshal(be.bucket)
	s := newServer(t, be, testConfig(be.bucket, strings.Replace(deck, "%q", string(raw), 1)), Options{})
	code, body := s.get(t, "/view/"+src(be, dir))
	if code != http.StatusOK {
		t.Fatalf("run page = %d:\n%s", code, body)
	}
	if got, want := strings.Join(sectionOrder(body), ","), "junit,buildlog,links,lens-4,artifacts"; got != want {
		t.Errorf("sections %s, want %s", got, want)
	}
	for _, want := range []string{
		"TestOutsideArtifacts", "nested log:",
		`deck.spyglass.lenses[4].lens.name &#34;buidlog&#34; is not a lens`,
		`deck.spyglass.lenses[5].required_files[0] &#34;(&#34; is not a regular expression`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("run page lacks %q", want)
		}
	}
	for _, absent := range []string{"pkg.TestDivides", "WARNING: DATA RACE", `data-lens="metadata"`} {
		if strings.Contains(body, absent) {
			t.Errorf("run page shows %q, which no chosen lens was given", absent)
		}
	}
}
