package spyglass

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/podutils/metadata"
)

const failingJUnit = `<?xml version="1.0"?>
<testsuites>
  <testsuite name="outer">
    <testsuite name="inner">
      <testcase classname="pkg" name="TestAdds" time="0.01"/>
      <testcase classname="pkg" name="TestDivides" time="0.02"><failure message="division by zero" type="panic">divide.go:12: got Inf, want 3</failure><system-out>dividing 6 by 0</system-out></testcase>
      <testcase classname="pkg" name="TestRetries"><failure message="first try">timeout</failure></testcase>
      <testcase classname="pkg" name="TestRetries"/>
      <testcase classname="pkg" name="TestWindows"><skipped message="not on linux"/></testcase>
    </testsuite>
  </testsuite>
</testsuites>`

// failingLog has an error line deep in it: it must show with 5 lines of context, the rest folded.
func failingLog() string {
	var b strings.Builder
	for i := 1; i <= 200; i++ {
		switch i {
		case 150:
			b.WriteString("\x1b[31mERROR: widget exploded <script>alert(1)</script>\x1b[0m\n")
		default:
			fmt.Fprintf(&b, "step %d ok\n", i)
		}
	}
	return b.String()
}

func failingRun() testRun {
	return testRun{
		spec: presubmit("pull-widgets-unit", "1001", 42, "c0ffee"), log: failingLog(), exitCode: "1",
		artifacts: map[string]string{"junit_unit.xml": failingJUnit, "dashboard.link.txt": "https://dashboards.example.com/run/1001", "evil.link.txt": "javascript:alert(1)", "logs/deep/trace.txt": "trace"},
	}
}

// TestRunPageOnEveryBucket shows a failing run, made by the real initupload and sidecar, from a
// file bucket, fake-gcs-server and gofakes3 alike.
func TestRunPageOnEveryBucket(t *testing.T) {
	for _, be := range allBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			dir := makeRun(t, be, failingRun())
			s := newServer(t, be, testConfig(be.bucket, ""), Options{})
			code, body := s.get(t, "/view/"+src(be, dir))
			if code != http.StatusOK {
				t.Fatalf("GET /view/%s = %d:\n%s", src(be, dir), code, body)
			}
			for _, want := range []string{
				`<h1>pull-widgets-unit</h1>`, `failure</span>`,
				`id="L150"`, `<span class="a-red hl">ERROR:</span>`, `&lt;script&gt;alert(1)&lt;/script&gt;`,
				`id="L145"`, `id="L155"`, `data-count="144"`,
				`pkg.TestDivides`, `division by zero`, `dividing 6 by 0`, `pkg.TestRetries`, `not on linux`,
				`<span class="t-fail">1 failed</span>`, `<span class="t-flaky">1 flaky</span>`, `<span class="t-skip">1 skipped</span>`,
				`href="https://dashboards.example.com/run/1001"`, `is not an http(s) URL`,
				`/job-history/` + strings.TrimSuffix(src(be, ""), "/") + `/pr-logs/directory/pull-widgets-unit`,
				`/pr-history?org=acme&amp;repo=widgets&amp;pr=42`,
				`started.json`, `build-log.txt`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("run page lacks %q", want)
				}
			}
			if strings.Contains(body, "<script>alert") || strings.Contains(body, `href="javascript:`) {
				t.Error("run page carries a script from the log or a link")
			}
			if strings.Contains(body, `id="L100"`) {
				t.Error("line 100 is far from any error and should be folded")
			}
			if f, p := strings.Index(body, "pkg.TestDivides"), strings.Index(body, "Passed ("); f < 0 || p < 0 || f > p {
				t.Error("the failure is not shown before the passed tests")
			}
		})
	}
}

// TestPointerAndProwJobRoutes opens a presubmit run through its pr-logs/directory pointer.
func TestPointerRoute(t *testing.T) {
	be := fileBackend(t)
	makeRun(t, be, failingRun())
	s := newServer(t, be, testConfig(be.bucket, ""), Options{})
	code, body := s.get(t, "/view/"+src(be, "pr-logs/directory/pull-widgets-unit/1001"))
	if code != http.StatusOK || !strings.Contains(body, "pkg.TestDivides") {
		t.Fatalf("pointer route = %d:\n%s", code, body)
	}
}

// TestBadInput: only configured buckets, no way out of the bucket, 404s that say what was
// looked for, and a corrupt file breaks only its own view.
func TestBadInput(t *testing.T) {
	be := fileBackend(t)
	dir := makeRun(t, be, failingRun())
	s := newServer(t, be, testConfig(be.bucket, ""), Options{})
	root := strings.TrimPrefix(be.bucket, "file://")
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("top secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, dir, "artifacts", "escape")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		code int
		want string
	}{
		{"/view/gs/other-bucket/logs/j/1", 404, "gs://other-bucket is not one this Prowl reads"},
		{"/view/file/etc/logs/j/1", 404, "/etc/logs/j/1 is in no file bucket"},
		{"/view/" + src(be, "logs/nope/123"), 404, "No run at " + be.bucket + "/logs/nope/123"},
		{"/spyglass/file/" + src(be, dir) + "/../../../../x", 400, ""},
		{"/spyglass/file/" + src(be, dir) + "/%2e%2e/%2e%2e/x", 400, "encoded dots"},
		{"/spyglass/file/" + src(be, dir) + "/artifacts/escape/secret.txt", 400, "symbolic link"},
		{"/spyglass/artifacts/" + src(be, dir) + "?dir=artifacts/escape/", 400, "symbolic link"},
		{"/spyglass/file/" + src(be, dir) + "/artifacts/missing.txt", 404, "No file"},
		{"/view/prowjob/nope", 404, "No ProwJob"},
		{"/pr-history?org=acme", 400, "pr-history needs org, repo"},
		{"/job-history/" + src(be, "logs/nobody"), 404, "has no runs"},
		{"/somewhere", 404, "no Spyglass page"},
	} {
		code, body := s.get(t, c.path)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("GET %s = %d, want %d with %q:\n%.600s", c.path, code, c.code, c.want, body)
		}
		if strings.Contains(body, "top secret") {
			t.Errorf("GET %s served a file outside the bucket", c.path)
		}
	}
	resp, err := http.Post(s.URL+"/view/"+src(be, dir), "text/plain", nil)
	if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST = %v, %v", resp.StatusCode, err)
	}
	// Corrupt started.json and junit: their views say so, the others still show.
	put(t, be, dir+"/started.json", "{not json")
	put(t, be, dir+"/artifacts/junit_unit.xml", "<testsuites><testsuite><testcase")
	code, body := s.get(t, "/view/"+src(be, dir))
	if code != http.StatusOK {
		t.Fatalf("corrupt run = %d", code)
	}
	for _, want := range []string{"started.json is not valid JSON", "artifacts/junit_unit.xml: XML syntax error", `id="L150"`, "dashboards.example.com"} {
		if !strings.Contains(body, want) {
			t.Errorf("corrupt run page lacks %q", want)
		}
	}
}

// TestCloneFailureFirst: a failed clone shows its failed command and output first.
func TestCloneFailureFirst(t *testing.T) {
	be := fileBackend(t)
	spec := presubmit("pull-widgets-unit", "7", 9, "bad5")
	ok := metadata.CloneRecord{Refs: prowv1.Refs{Org: "acme", Repo: "tools"}, Commands: []metadata.Command{{Command: "git init"}}}
	bad := metadata.CloneRecord{Refs: *spec.Refs, Failed: true, Commands: []metadata.Command{{Command: "git init"}, {Command: "git fetch origin pull/9/head", Output: "fatal: couldn't find remote ref pull/9/head", Error: "exit status 128"}}}
	dir := makeRun(t, be, testRun{spec: spec, clones: []metadata.CloneRecord{ok, bad}})
	s := newServer(t, be, testConfig(be.bucket, ""), Options{})
	code, body := s.get(t, "/view/"+src(be, dir))
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	i := strings.Index(body, "Cloning acme/widgets failed")
	if i < 0 || !strings.Contains(body[i:], "git fetch origin pull/9/head") || !strings.Contains(body[i:], "couldn&#39;t find remote ref") {
		t.Fatalf("clone failure not shown first:\n%s", body)
	}
	if j := strings.Index(body, "Clone records"); j < i {
		t.Error("the failure is not above the records")
	}
}

// TestConfiguredHighlight: deck.spyglass.lenses' buildlog highlight_regexes replace the default.
func TestConfiguredHighlight(t *testing.T) {
	be := fileBackend(t)
	dir := makeRun(t, be, testRun{spec: periodic("nightly", "5"), log: "ERROR: not highlighted now\nall fine\nWIDGET BROKE here\n"})
	deck := `{"spyglass":{"lenses":[{"required_files":["build-log.txt"],"lens":{"name":"buildlog","config":{"highlight_regexes":["WIDGET BROKE"]}}}]}}`
	s := newServer(t, be, testConfig(be.bucket, deck), Options{})
	_, body := s.get(t, "/view/"+src(be, dir))
	if !strings.Contains(body, `<span class="hl">WIDGET BROKE</span>`) || strings.Contains(body, `<span class="hl">ERROR:</span>`) {
		t.Errorf("configured highlight not applied:\n%s", body)
	}
}

var foldRE = regexp.MustCompile(`data-offset="(\d+)" data-length="(\d+)" data-start="(\d+)"`)

// TestFoldOpensInSteps: a fold opens 20 lines at a time from either end, or whole.
func TestFoldOpensInSteps(t *testing.T) {
	be := gcsBackend(t)
	dir := makeRun(t, be, failingRun())
	s := newServer(t, be, testConfig(be.bucket, ""), Options{})
	_, body := s.get(t, "/view/"+src(be, dir))
	m := foldRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no fold on the page")
	}
	q := fmt.Sprintf("?file=build-log.txt&offset=%s&length=%s&start=%s", m[1], m[2], m[3])
	_, top := s.get(t, "/spyglass/fold/"+src(be, dir)+q+"&take=top")
	if !strings.Contains(top, `id="L1"`) || !strings.Contains(top, `id="L20"`) || strings.Contains(top, `id="L21"`) || !strings.Contains(top, `data-start="21"`) || !strings.Contains(top, "step 20 ok") {
		t.Errorf("take=top:\n%.2000s", top)
	}
	_, bottom := s.get(t, "/spyglass/fold/"+src(be, dir)+q+"&take=bottom")
	if !strings.Contains(bottom, `id="L144"`) || !strings.Contains(bottom, `id="L125"`) || strings.Contains(bottom, `id="L124"`) || !strings.Contains(bottom, `data-count="124"`) {
		t.Errorf("take=bottom:\n%.2000s", bottom)
	}
	_, all := s.get(t, "/spyglass/fold/"+src(be, dir)+q+"&take=all")
	if strings.Count(all, `class="line`) != 144 || strings.Contains(all, "fold") {
		t.Errorf("take=all has %d lines", strings.Count(all, `class="line`))
	}
}

// TestArtifactsPaged lists a directory in pages with the bucket's own tokens, and streams a
// download with its content type.
func TestArtifactsPaged(t *testing.T) {
	for _, be := range []testBackend{fileBackend(t), gcsBackend(t)} {
		t.Run(be.name, func(t *testing.T) {
			arts := map[string]string{"report.html": "<script>x</script>", "data.json": `{"a":1}`}
			for i := range 600 {
				arts[fmt.Sprintf("many/f%05d.txt", i)] = "x"
			}
			dir := makeRun(t, be, testRun{spec: periodic("nightly", "9"), log: "ok\n", artifacts: arts})
			s := newServer(t, be, testConfig(be.bucket, ""), Options{})
			code, body := s.get(t, "/spyglass/artifacts/"+src(be, dir)+"?dir=artifacts/many/")
			if code != 200 || strings.Count(body, ".txt</a>") != artifactPage {
				t.Fatalf("first page: %d, %d files", code, strings.Count(body, ".txt</a>"))
			}
			next := regexp.MustCompile(`href="([^"]+)" class="sg-next"`).FindStringSubmatch(body)
			if next == nil {
				t.Fatal("no next page link")
			}
			_, body2 := s.get(t, strings.ReplaceAll(next[1], "&amp;", "&"))
			if !strings.Contains(body2, "f00500.txt") || strings.Contains(body2, "f00499.txt") {
				t.Errorf("second page does not continue the first")
			}
			resp, err := http.Get(s.URL + "/spyglass/file/" + src(be, dir) + "/artifacts/data.json")
			if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("data.json: %v %v %q", err, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			resp, err = http.Get(s.URL + "/spyglass/file/" + src(be, dir) + "/artifacts/report.html")
			if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || resp.Header.Get("Content-Security-Policy") != "sandbox" {
				t.Errorf("report.html must not be served as HTML: %q", resp.Header.Get("Content-Type"))
			}
		})
	}
}
