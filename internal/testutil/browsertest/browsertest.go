// Package browsertest starts Debian's Chromium for the browser tests (Deck's and Spyglass's) and
// saves their screenshots, so every browser test runs Chromium the same way on this machine's
// closed network.
package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium is Debian's Chromium, which the browser tests drive.
const Chromium = "/usr/bin/chromium"

// New starts a headless Chromium of the test's own (a fresh profile, no background network
// services, no component updates or sync) with a window width × height, and returns a context
// for chromedp that ends after timeout. It skips the test, saying how to enable it, where
// Chromium is absent.
func New(t *testing.T, width, height int, timeout time.Duration) context.Context {
	t.Helper()
	if _, err := os.Stat(Chromium); err != nil {
		t.Skipf("no %s: install Chromium (apt-get install chromium) to run the browser tests", Chromium)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(Chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	// The first call starts the browser and must not carry the timeout (it would stop it).
	if err := chromedp.Do(ctx); err != nil {
		cancelB()
		cancelA()
		t.Fatalf("start Chromium: %v", err)
	}
	tctx, cancelC := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	return tctx
}

// Screenshot saves the whole page as $PROWL_TEST_OUTPUT (default /tmp/prowl-test-output)/<test
// name><suffix>.png and logs where, so that a person can look at it.
func Screenshot(t *testing.T, ctx context.Context, suffix string) {
	t.Helper()
	dir := os.Getenv("PROWL_TEST_OUTPUT")
	if dir == "" {
		dir = "/tmp/prowl-test-output"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+suffix+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
