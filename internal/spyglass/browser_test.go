package spyglass

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/jobs"
	"github.com/prowl-ci/prowl/internal/testutil/browsertest"
)

// browser starts the test's own headless Chromium.
func browser(t *testing.T) context.Context { return browsertest.New(t, 1280, 1000, 90*time.Second) }

// screenshot saves the page as the test's screenshot, its name ending in suffix.
func screenshot(t *testing.T, ctx context.Context, suffix string) {
	browsertest.Screenshot(t, ctx, suffix)
}

// TestBrowserFailingRun: a failing job's page shows the highlighted error line and its JUnit
// failure first; a fold opens; the <script> in a log line and a pull request title is text.
func TestBrowserFailingRun(t *testing.T) {
	be := fileBackend(t)
	dir := makeRun(t, be, failingRun())
	pj := prowv1.ProwJob{Spec: prowv1.ProwJobSpec{Type: prowv1.PresubmitJob, Job: "pull-widgets-unit", Refs: &prowv1.Refs{Org: "acme", Repo: "widgets", BaseRef: "main", BaseSHA: "b45e00d1",
		Pulls: []prowv1.Pull{{Number: 42, Author: "alice", SHA: "c0ffee1234", Title: "<script>window.__xss=1</script> fix widgets", Link: "https://github.com/acme/widgets/pull/42"}}}}}
	raw, _ := json.Marshal(pj)
	put(t, be, dir+"/prowjob.json", string(raw))
	s := newServer(t, be, testConfig(be.bucket, ""), Options{})
	ctx := browser(t)
	must(t, chromedp.Do(ctx, chromedp.Navigate(s.URL+"/view/"+src(be, dir)+"#L150"), chromedp.WaitVisible(chromedp.CSS(`#L150 .hl`))))
	errLine := text(t, ctx, `#L150`)
	firstTest := text(t, ctx, `#junit .sg-test .name`)
	title := text(t, ctx, `.sg-facts`)
	xss := eval[bool](t, ctx, `window.__xss === 1`)
	screenshot(t, ctx, "")
	if !strings.Contains(errLine, "ERROR: widget exploded <script>alert(1)</script>") || firstTest != "pkg.TestDivides" || !strings.Contains(title, "<script>window.__xss=1</script> fix widgets") || xss {
		t.Errorf("line %q, first test %q, header %q, script ran %v", errLine, firstTest, title, xss)
	}
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.fold button[data-take="top"]`)), chromedp.WaitVisible(chromedp.CSS(`#L1`))))
	lines := eval[int](t, ctx, `document.querySelectorAll('#buildlog .line').length`)
	if lines != 31 {
		t.Errorf("after opening 20 lines the log shows %d lines, want 31", lines)
	}
	screenshot(t, ctx, "-fold")
}

// TestBrowserStatusLinkAndHistory: the job URL Plank writes (status.url) opens the run page;
// a history of 25 runs shows over two pages.
func TestBrowserStatusLinkAndHistory(t *testing.T) {
	be := gcsBackend(t)
	for i := 1; i <= 25; i++ {
		r := testRun{spec: periodic("nightly", fmt.Sprintf("17000%02d", i)), log: "ok\n", start: int64(1700000000 + i*600)}
		if i%4 == 0 {
			r.exitCode = "1"
		}
		makeRun(t, be, r)
	}
	s := newServer(t, be, testConfig(be.bucket, ""), Options{})
	pj := &prowv1.ProwJob{Spec: prowv1.ProwJobSpec{Type: prowv1.PeriodicJob, Job: "nightly", DecorationConfig: &prowv1.DecorationConfig{GCSConfiguration: &prowv1.GCSConfiguration{Bucket: be.bucket, PathStrategy: "explicit"}}}, Status: prowv1.ProwJobStatus{BuildID: "1700025"}}
	statusURL, err := jobs.JobURL(&config.Plank{JobURLPrefixConfig: map[string]string{"*": s.URL + "/view/"}}, pj)
	if err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	must(t, chromedp.Do(ctx, chromedp.Navigate(statusURL), chromedp.WaitVisible(chromedp.CSS(`.sg-title h1`))))
	job, build := text(t, ctx, `.sg-title h1`), text(t, ctx, `.sg-build`)
	if job != "nightly" || build != "#1700025" {
		t.Fatalf("status.url %s opened %q %q", statusURL, job, build)
	}
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.sg-links a[href^="/job-history/"]`)), chromedp.WaitVisible(chromedp.CSS(`.sg-history`))))
	rows1 := eval[int](t, ctx, `document.querySelectorAll('.sg-history tr.run').length`)
	screenshot(t, ctx, "-history1")
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a.sg-older`)), chromedp.WaitVisible(chromedp.CSS(`a.sg-newer`))))
	rows2 := eval[int](t, ctx, `document.querySelectorAll('.sg-history tr.run').length`)
	first2 := text(t, ctx, `.sg-history tr.run td a`)
	screenshot(t, ctx, "-history2")
	if rows1 != 20 || rows2 != 5 || first2 != "1700005" {
		t.Errorf("pages of %d and %d runs, second starting at %s", rows1, rows2, first2)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	must(t, err)
	return s
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	must(t, err)
	return v
}

// TestBrowserLiveLog: a running job's log grows on screen, then switches to the bucket's copy
// without a reload.
func TestBrowserLiveLog(t *testing.T) {
	be := fileBackend(t)
	k := newFakeKubelet(t)
	lj, pjNS, podNS := startLiveJob(t, be, k, "live-browser", true)
	s := liveServer(t, be, pjNS, podNS)
	ctx := browser(t)
	must(t, chromedp.Do(ctx, chromedp.Navigate(s.URL+"/view/prowjob/"+lj.pj.Name), chromedp.WaitVisible(chromedp.CSS(`.sg-live`))))
	eval[bool](t, ctx, `window.__sameDocument = true`)
	k.lines <- "\x1b[32mstarting\x1b[0m the widget tests"
	k.lines <- "=== RUN TestWidgets"
	must(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#L2`))))
	k.lines <- "--- FAIL: TestWidgets (0.01s)"
	must(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#L3 .hl`))))
	screenshot(t, ctx, "-live")
	lj.finish(t, be, "starting the widget tests\n=== RUN TestWidgets\n--- FAIL: TestWidgets (0.01s)\nuploaded by the sidecar\n")
	close(k.lines)
	must(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`section#buildlog[data-switched="bucket"] .sg-raw`))))
	logText := text(t, ctx, `#buildlog .sg-lines`)
	same := eval[bool](t, ctx, `window.__sameDocument === true`)
	screenshot(t, ctx, "-bucket")
	if !same || !strings.Contains(logText, "uploaded by the sidecar") {
		t.Errorf("switched without reload %v, log %q", same, logText)
	}
}
