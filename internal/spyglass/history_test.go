package spyglass

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestJobHistoryPages: 25 runs show as 20 and 5, newest first, with older and newer links by
// build ID, on a file bucket and fake-gcs-server.
func TestJobHistoryPages(t *testing.T) {
	for _, be := range []testBackend{fileBackend(t), gcsBackend(t)} {
		t.Run(be.name, func(t *testing.T) {
			for i := 1; i <= 25; i++ {
				r := testRun{spec: periodic("nightly", fmt.Sprintf("%d", 1000+i)), log: "ok\n", start: int64(1700000000 + i*100)}
				if i%5 == 0 {
					r.exitCode = "1"
				}
				makeRun(t, be, r)
			}
			s := newServer(t, be, testConfig(be.bucket, ""), Options{})
			code, body := s.get(t, "/job-history/"+src(be, "logs/nightly"))
			if code != 200 {
				t.Fatalf("history = %d:\n%s", code, body)
			}
			builds := regexp.MustCompile(`>(10\d\d)</a>`).FindAllStringSubmatch(body, -1)
			if len(builds) != 20 || builds[0][1] != "1025" || builds[19][1] != "1006" {
				t.Fatalf("first page shows %v", builds)
			}
			if !strings.Contains(body, `latest</span>`) || !strings.Contains(body, "sg-badge-bad") || !strings.Contains(body, "1m35s") {
				t.Error("first page lacks the latest mark, a failure or a duration")
			}
			older := regexp.MustCompile(`href="([^"]+)" class="sg-older"`).FindStringSubmatch(body)
			if older == nil {
				t.Fatal("no older link")
			}
			_, body = s.get(t, older[1])
			builds = regexp.MustCompile(`>(10\d\d)</a>`).FindAllStringSubmatch(body, -1)
			if len(builds) != 5 || builds[0][1] != "1005" || builds[4][1] != "1001" || strings.Contains(body, "sg-older") || !strings.Contains(body, "sg-newer") {
				t.Errorf("second page shows %v", builds)
			}
		})
	}
}

// TestPresubmitHistoryAndPRHistory: pr-logs/directory/<job> lists presubmit runs through their
// pointers; /pr-history groups a pull request's runs by commit, newest first.
func TestPresubmitHistoryAndPRHistory(t *testing.T) {
	be := fileBackend(t)
	makeRun(t, be, testRun{spec: presubmit("pull-unit", "11", 42, "aaa111"), log: "ok\n", start: 1700000000})
	makeRun(t, be, testRun{spec: presubmit("pull-lint", "12", 42, "aaa111"), log: "ok\n", start: 1700000100, exitCode: "1"})
	makeRun(t, be, testRun{spec: presubmit("pull-unit", "13", 42, "bbb222"), log: "ok\n", start: 1700000900})
	makeRun(t, be, testRun{spec: presubmit("pull-unit", "14", 7, "ccc333"), log: "ok\n", start: 1700001000})
	s := newServer(t, be, testConfig(be.bucket, ""), Options{})
	code, body := s.get(t, "/job-history/"+src(be, "pr-logs/directory/pull-unit"))
	builds := regexp.MustCompile(`>(1\d)</a>`).FindAllStringSubmatch(body, -1)
	if code != 200 || len(builds) != 3 || builds[0][1] != "14" || !strings.Contains(body, "/view/"+src(be, "pr-logs/pull/acme_widgets/42/pull-unit/13")) {
		t.Fatalf("presubmit history = %d %v", code, builds)
	}
	code, body = s.get(t, "/pr-history?org=acme&repo=widgets&pr=42")
	if code != 200 {
		t.Fatalf("pr-history = %d:\n%s", code, body)
	}
	b, a := strings.Index(body, "bbb222"), strings.Index(body, "aaa111")
	if b < 0 || a < 0 || b > a || strings.Contains(body, "ccc333") || strings.Count(body, `class="run"`) != 3 {
		t.Errorf("pr-history not grouped newest commit first:\n%s", body)
	}
	if code, _ := s.get(t, "/pr-history?org=acme&repo=widgets&pr=99"); code != 404 {
		t.Errorf("a PR without runs = %d", code)
	}
}

// TestHistoryCachesFinishedRuns: a second load of a history page reads only the listing and
// latest-build.txt for finished runs (their files never change), while a running run is read
// again and shows its result once finished.json is written.
func TestHistoryCachesFinishedRuns(t *testing.T) {
	t.Parallel()
	be := gcsBackend(t)
	for i := 1; i <= 5; i++ {
		makeRun(t, be, testRun{spec: periodic("cached", fmt.Sprintf("%d", 100+i)), log: "ok\n", start: int64(1700000000 + i*100)})
	}
	running := testRun{spec: periodic("cached", "106"), log: "ok\n", start: 1700000600, exitCode: "1"}
	makeRun(t, be, running)
	finished, err := be.blob(t).ReadAll(t.Context(), "logs/cached/106/finished.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := be.blob(t).Delete(t.Context(), "logs/cached/106/finished.json"); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, be, testConfig(be.bucket, ""), Options{})
	page := "/job-history/" + src(be, "logs/cached")
	load := func() (string, int64) {
		before := be.served.Load()
		code, body := s.get(t, page)
		if code != 200 {
			t.Fatalf("history = %d:\n%s", code, body)
		}
		return body, be.served.Load() - before
	}
	first, cold := load()
	if !strings.Contains(first, "running or unfinished") {
		t.Fatalf("run 106 has no finished.json and should show as running:\n%s", first)
	}
	_, warm := load()
	if warm >= cold {
		t.Errorf("the second load read %d bytes from the bucket, the first %d: finished runs should come from the cache", warm, cold)
	}
	put(t, be, "logs/cached/106/finished.json", string(finished))
	if third, _ := load(); strings.Contains(third, "running or unfinished") || !strings.Contains(third, "sg-badge-bad") {
		t.Errorf("run 106 finished as a failure, the page shows:\n%s", third)
	}
}
