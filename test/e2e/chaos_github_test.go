package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/prowl-ci/prowl/internal/github/githubtest"
	"github.com/prowl-ci/prowl/internal/hook"
)

// The repository, the pull requests' author and the webhook secret of the chaos run.
const (
	chaosOrg, chaosRepo = "org", "repo"
	chaosAuthor         = "alice"
	chaosHMAC           = "chaos-webhook-secret"
)

// webhook is one delivery GitHub sends: a pull request opened or pushed to, or a push to main.
type webhook struct {
	event, delivery string
	payload         []byte
	pull            int    // the pull request, 0 for a push to main
	push            int    // the pull request's push: 0 opened it, then each synchronize
	sha, baseSHA    string // the head tested (the pushed SHA for a push to main)
	files           []string
	jobs            []string // the jobs it starts
	prev            *webhook // the pull request's previous push, accepted before this one is sent
	accepted        chan struct{}
}

// chaosGitHub is GitHub as the test plays it: the fake API, failing a fraction of calls at
// random, and the webhooks, each redelivered until Hook answers 2xx, as a GitHub App or an
// operator redelivers what failed.
type chaosGitHub struct {
	api     *githubtest.Server
	hookURL string
	http    *http.Client

	mu           sync.Mutex
	queue        []*webhook // not sent yet, in the order they are sent
	sent         []*webhook
	redeliveries int
	wg           sync.WaitGroup
}

// presubmitsFor are the presubmits a push of these files starts: pull-go only when Go changed.
func presubmitsFor(files []string) []string {
	jobs := []string{"pull-ok", "pull-fail"}
	if slices.ContainsFunc(files, func(f string) bool { return strings.HasSuffix(f, ".go") }) {
		jobs = append(jobs, "pull-go")
	}
	return jobs
}

// postsubmits are the jobs a push to main starts.
var postsubmits = []string{"post-ok", "post-lint"}

// newSHA is a random commit SHA.
func newSHA(rng *rand.Rand) string {
	b := make([]byte, 20)
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	return hex.EncodeToString(b)
}

// plan makes the webhooks: pulls pull requests each opened and then pushed to pushes-1 times, and
// mainPushes pushes to main, interleaved at random (each pull request's pushes in order).
func (g *chaosGitHub) plan(rng *rand.Rand, pulls, pushes, mainPushes int) {
	base := newSHA(rng)
	var streams [][]*webhook
	for n := 1; n <= pulls; n++ {
		var stream []*webhook
		var prev *webhook
		// A pull request changes Go or not in all its pushes: Trigger asks GitHub for the files
		// of the pull request as it is when it handles the event, which may be a push later.
		files := []string{"README.md"}
		if rng.IntN(2) == 0 {
			files = append(files, "main.go")
		}
		for k := range pushes {
			w := &webhook{event: "pull_request", pull: n, push: k, sha: newSHA(rng), baseSHA: base, files: files, jobs: presubmitsFor(files), prev: prev}
			stream, prev = append(stream, w), w
		}
		streams = append(streams, stream)
	}
	var mains []*webhook
	before := base
	for range mainPushes {
		w := &webhook{event: "push", sha: newSHA(rng), baseSHA: before, files: []string{"README.md"}, jobs: postsubmits}
		mains, before = append(mains, w), w.sha
	}
	streams = append(streams, mains)
	for {
		var open []int
		for i, s := range streams {
			if len(s) > 0 {
				open = append(open, i)
			}
		}
		if len(open) == 0 {
			break
		}
		i := open[rng.IntN(len(open))]
		w := streams[i][0]
		streams[i] = streams[i][1:]
		w.delivery = fmt.Sprintf("%08x-chaos-%04d", rng.Uint32(), len(g.queue))
		w.payload = g.payload(w)
		w.accepted = make(chan struct{})
		g.queue = append(g.queue, w)
	}
}

// payload is the webhook's body, in GitHub's shape.
func (g *chaosGitHub) payload(w *webhook) []byte {
	repo := map[string]any{"name": chaosRepo, "full_name": chaosOrg + "/" + chaosRepo, "html_url": "https://github.com/org/repo",
		"owner": map[string]any{"login": chaosOrg, "name": chaosOrg}}
	sender := map[string]any{"login": chaosAuthor, "html_url": "https://github.com/" + chaosAuthor}
	var body map[string]any
	if w.event == "push" {
		body = map[string]any{"ref": "refs/heads/main", "before": w.baseSHA, "after": w.sha, "compare": "https://github.com/org/repo/compare/" + w.sha[:12],
			"commits": []any{map[string]any{"id": w.sha, "added": []string{}, "removed": []string{}, "modified": w.files}}, "repository": repo, "sender": sender}
	} else {
		action := "synchronize"
		if w.push == 0 {
			action = "opened"
		}
		body = map[string]any{"action": action, "number": w.pull, "repository": repo, "sender": sender,
			"pull_request": map[string]any{"number": w.pull, "state": "open", "draft": false, "title": fmt.Sprintf("Change %d", w.pull),
				"html_url": fmt.Sprintf("https://github.com/org/repo/pull/%d", w.pull), "user": sender, "labels": []any{},
				"head": map[string]any{"sha": w.sha, "ref": fmt.Sprintf("pr-%d", w.pull), "repo": repo},
				"base": map[string]any{"sha": w.baseSHA, "ref": "main", "repo": repo}}}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		panic(err) // maps of strings and numbers always marshal
	}
	return raw
}

// next takes the first webhook ready to send: its pull request's previous push was accepted.
func (g *chaosGitHub) next() *webhook {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, w := range g.queue {
		if w.prev != nil && !isClosed(w.prev.accepted) {
			continue
		}
		g.queue = slices.Delete(g.queue, i, i+1)
		g.sent = append(g.sent, w)
		return w
	}
	return nil
}

// remaining counts the webhooks not sent yet.
func (g *chaosGitHub) remaining() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// send updates the pull request on the fake GitHub, as a push does, and delivers the webhook in
// the background.
func (g *chaosGitHub) send(ctx context.Context, w *webhook) {
	if w.pull > 0 {
		g.api.SetPullRequest(chaosOrg+"/"+chaosRepo, githubtest.PullRequest{Number: w.pull, Author: chaosAuthor, HeadSHA: w.sha,
			HeadRef: fmt.Sprintf("pr-%d", w.pull), BaseRef: "main", BaseSHA: w.baseSHA, Files: w.files})
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.deliver(ctx, w)
	}()
}

// deliver posts the webhook, signed, until Hook answers 2xx: a refused connection, a reset, a
// timeout or a 5xx is redelivered, as GitHub's redelivery would.
func (g *chaosGitHub) deliver(ctx context.Context, w *webhook) {
	attempts := 0
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		attempts++
		if attempts > 1 {
			g.mu.Lock()
			g.redeliveries++
			g.mu.Unlock()
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.hookURL, bytes.NewReader(w.payload))
		if err != nil {
			return false, err
		}
		req.Header.Set("X-GitHub-Event", w.event)
		req.Header.Set("X-GitHub-Delivery", w.delivery)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hub-Signature-256", hook.Signature([]byte(chaosHMAC), w.payload))
		resp, err := g.http.Do(req)
		if err != nil {
			return false, nil
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode/100 == 2, nil
	})
	if err == nil {
		close(w.accepted) // never closed otherwise: the check finds the delivery lost
	}
}

// redelivered counts the deliveries sent again after one got no 2xx.
func (g *chaosGitHub) redelivered() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.redeliveries
}

// allAccepted says whether every webhook was sent and accepted.
func (g *chaosGitHub) allAccepted() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) > 0 {
		return false
	}
	for _, w := range g.sent {
		if !isClosed(w.accepted) {
			return false
		}
	}
	return true
}

// sentJobs counts the jobs the webhooks sent so far start.
func (g *chaosGitHub) sentJobs() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, w := range g.sent {
		n += len(w.jobs)
	}
	return n
}

// webhooks are every webhook planned, sent or not.
func (g *chaosGitHub) webhooks() []*webhook {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append(append([]*webhook(nil), g.sent...), g.queue...)
}
