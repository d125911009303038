package forge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/go-logr/logr"
	gh "github.com/google/go-github/v82/github"
	"github.com/google/uuid"

	"github.com/prowl-ci/prowl/internal/hook"
)

// deliveryAttempts is how often a webhook is tried before the change's caller is told it failed
// (Hook answers 503 when its queue is full).
const deliveryAttempts = 3

// event is a webhook to send: its X-GitHub-Event name and payload.
type event struct {
	name    string
	payload any
}

func (s *Server) pullEvent(ctx context.Context, full string, p Pull, action, sender string) event {
	return event{name: "pull_request", payload: &gh.PullRequestEvent{Action: gh.Ptr(action), Number: gh.Ptr(p.Number),
		PullRequest: s.pullJSON(ctx, full, p), Repo: s.repoJSON(ctx, full), Sender: s.userJSON(sender)}}
}

// pushEvent is GitHub's push event for ref moving from before to after.
func (s *Server) pushEvent(ctx context.Context, full, ref, before, after, pusher string) (event, error) {
	var commits []pushedCommit
	if after != zeroSHA {
		var err error
		if commits, err = pushedCommits(ctx, s.repoDir(full), ref, before, after); err != nil {
			return event{}, err
		}
	}
	org, name, _ := strings.Cut(full, "/")
	repo := s.repoJSON(ctx, full)
	owner := s.userJSON(org)
	owner.Name = gh.Ptr(org)
	e := &gh.PushEvent{Ref: gh.Ptr(ref), Before: gh.Ptr(before), After: gh.Ptr(after),
		Created: gh.Ptr(before == zeroSHA), Deleted: gh.Ptr(after == zeroSHA), Forced: gh.Ptr(false),
		Compare: gh.Ptr(fmt.Sprintf("%s/%s/compare/%s...%s", s.o.URL, full, short(before), short(after))),
		Commits: []*gh.HeadCommit{}, Pusher: &gh.CommitAuthor{Name: gh.Ptr(pusher), Login: gh.Ptr(pusher)}, Sender: s.userJSON(pusher),
		Repo: &gh.PushEventRepository{ID: repo.ID, Name: gh.Ptr(name), FullName: gh.Ptr(full), Owner: owner, HTMLURL: repo.HTMLURL,
			CloneURL: repo.CloneURL, URL: repo.HTMLURL, DefaultBranch: repo.DefaultBranch, MasterBranch: repo.DefaultBranch, Organization: gh.Ptr(org)}}
	for _, c := range commits {
		hc := &gh.HeadCommit{ID: gh.Ptr(c.SHA), Message: gh.Ptr(c.Message), Timestamp: ts(c.Time), Distinct: gh.Ptr(true),
			URL:    gh.Ptr(fmt.Sprintf("%s/%s/commit/%s", s.o.URL, full, c.SHA)),
			Author: &gh.CommitAuthor{Name: gh.Ptr(c.AuthorName), Email: gh.Ptr(c.AuthorEmail)}, Committer: &gh.CommitAuthor{Name: gh.Ptr(c.AuthorName), Email: gh.Ptr(c.AuthorEmail)},
			Added: nonNil(c.Added), Removed: nonNil(c.Removed), Modified: nonNil(c.Modified)}
		e.Commits = append(e.Commits, hc)
	}
	if len(e.Commits) > 0 {
		e.HeadCommit = e.Commits[len(e.Commits)-1]
	}
	return event{name: "push", payload: e}, nil
}

// nonNil makes an empty list [] in JSON, as GitHub writes it, rather than absent.
func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// deliver sends the events to Hook in order, each signed with the webhook secret as GitHub signs
// (X-Hub-Signature-256), retrying a refused delivery. It returns what was not delivered.
func (s *Server) deliver(ctx context.Context, events []event) error {
	if len(events) == 0 {
		return nil
	}
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	log := logr.FromContextOrDiscard(ctx)
	var errs []error
	for _, ev := range events {
		if s.hookURL == "" {
			errs = append(errs, fmt.Errorf("%s event not sent: Hook is not listening", ev.name))
			continue
		}
		payload, err := json.Marshal(ev.payload)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		delivery := uuid.NewString()
		if err := s.post(ctx, ev.name, delivery, payload); err != nil {
			errs = append(errs, fmt.Errorf("%s event %s: %w", ev.name, delivery, err))
			continue
		}
		log.V(1).Info("webhook delivered", "event", ev.name, "delivery", delivery)
	}
	err := errors.Join(errs...)
	if err != nil {
		log.Error(err, "webhook not delivered")
	}
	return err
}

// post delivers one webhook, trying again at once on a network error or a 5xx (Hook answers 503
// only when its queue is full, and a retry must not hold up the change's caller for long).
func (s *Server) post(ctx context.Context, name, delivery string, payload []byte) error {
	var last error
	for range deliveryAttempts {
		if err := ctx.Err(); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.hookURL, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", name)
		req.Header.Set("X-GitHub-Delivery", delivery)
		req.Header.Set("User-Agent", "GitHub-Hookshot/prowl-local")
		req.Header.Set("X-Hub-Signature-256", hook.Signature(s.secret, payload))
		resp, err := s.o.Webhooks.Do(req)
		if err != nil {
			last = err
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		_ = resp.Body.Close()
		switch {
		case resp.StatusCode < 300:
			return nil
		case resp.StatusCode < 500:
			return fmt.Errorf("hook answered %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
		}
		last = fmt.Errorf("hook answered %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return last
}
