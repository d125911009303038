package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/testutil"
	"github.com/prowl-ci/prowl/internal/testutil/browsertest"
)

// TestUpDeckShowsEchoTestLive is what a user of `prowl up` does first: open the Deck URL it
// prints, in Chromium, and watch echo-test. The page shows the run prowl up started; the user
// reruns it (local mode: no login) from the open page, and the new run appears and turns success
// there without a reload. Both the new row and its success can only reach the page live, since
// the run did not exist when the page loaded.
func TestUpDeckShowsEchoTestLive(t *testing.T) {
	if _, err := testutil.ControlPlaneAssets(); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		t.Skip("skipping: the local node runs containers in mount namespaces, which needs root")
	}
	dataDir := t.TempDir()
	seed, err := os.ReadFile(testutil.Seed("periodic-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfgPath, jobs := upConfig(t, dataDir, string(seed))
	up := startUp(t, dataDir, cfgPath, jobs)
	c := up.client(t, filepath.Join(dataDir, "kubeconfig"))
	deckURL := waitOutput(t, up, regexp.MustCompile(`deck: (http://\S+)`))
	first := waitEchoTest(t, c, up, "")
	// Started now, so that its timeout counts the browser's steps, not prowl up's start.
	browser := browsertest.New(t, 1440, 900, 3*time.Minute)
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(browser, steps...); err != nil {
			t.Fatalf("%v\n%s", err, up.out.String())
		}
	}
	do(chromedp.Navigate(deckURL), chromedp.WaitVisible("#pj-"+first.Name+".state-success"), chromedp.WaitVisible("#live.on"))
	// What the row's Rerun button posts, sent from the page so that the page stays open.
	status, err := chromedp.Run(browser, chromedp.Evaluate[int](`window.notReloaded = true;
fetch("/rerun?prowjob=`+first.Name+`", {method: "POST", headers: {"X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content}}).then(r => r.status)`,
		chromedp.EvalAwaitPromise))
	if err != nil || status != 200 {
		t.Fatalf("rerun from the page: %d %v", status, err)
	}
	rerun := waitEchoTest(t, c, up, first.Name)
	if rerun.Status.State != prowv1.SuccessState {
		t.Fatalf("the rerun of echo-test ended %s (%s)", rerun.Status.State, rerun.Status.Description)
	}
	do(chromedp.WaitVisible("#pj-" + rerun.Name + ".state-success"))
	stayed, err := chromedp.Run(browser, chromedp.Evaluate[bool](`window.notReloaded === true && document.querySelector("#rows tr").id`+" === "+`"pj-`+rerun.Name+`"`))
	if err != nil || !stayed {
		t.Errorf("the new run is not the first row of the page it was opened on (reloaded or misplaced): %v", err)
	}
	browsertest.Screenshot(t, browser, "")
	if code := up.stop(t); code != 0 {
		t.Errorf("prowl up exited %d after Ctrl-C:\n%s", code, up.out.String())
	}
}

// waitEchoTest waits for a finished run of echo-test other than the one named not, and returns it.
func waitEchoTest(t *testing.T, c client.Client, up *upProcess, not string) prowv1.ProwJob {
	t.Helper()
	var found prowv1.ProwJob
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		var list prowv1.ProwJobList
		if err := c.List(ctx, &list, client.InNamespace("default")); err != nil {
			return false, nil
		}
		for _, pj := range list.Items {
			if pj.Spec.Job == "echo-test" && pj.Name != not && pj.Complete() {
				found = pj
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no finished run of echo-test (other than %q):\n%s", not, up.out.String())
	}
	return found
}
