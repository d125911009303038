package forge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	gh "github.com/google/go-github/v82/github"
)

// Client is how `prowl pr` and `prowl repo` reach the local GitHub of a running `prowl up`: its
// URL and token are files in the data dir.
type Client struct {
	// GitHub is go-github on the local GitHub's REST API, acting as the user given to Connect.
	GitHub *gh.Client
	// URL is the server's base URL (repositories are URL/ORG/REPO.git).
	URL  string
	http *http.Client
}

// ErrNotRunning says that no `prowl up` with the local GitHub serves this data dir.
var ErrNotRunning = errors.New("prowl up is not running here")

// Connect finds the local GitHub of the `prowl up` that uses dataDir and checks that it answers.
// as is the user to act as (empty: the bot).
func Connect(ctx context.Context, dataDir, as string) (*Client, error) {
	notRunning := func(why string) error {
		return fmt.Errorf("%w (%s): start `prowl up --data-dir %s` without GitHub credentials, then try again", ErrNotRunning, why, dataDir)
	}
	raw, err := os.ReadFile(filepath.Join(dataDir, urlFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, notRunning("no " + filepath.Join(dataDir, urlFile))
	}
	if err != nil {
		return nil, err
	}
	token, err := os.ReadFile(TokenPath(dataDir))
	if err != nil {
		return nil, notRunning(err.Error())
	}
	base := strings.TrimSpace(string(raw))
	hc := &http.Client{Transport: &asUser{token: strings.TrimSpace(string(token)), as: as, next: http.DefaultTransport}}
	c := &Client{URL: base, http: hc}
	if err := c.call(ctx, http.MethodGet, "ping", nil, nil); err != nil {
		return nil, notRunning(err.Error())
	}
	api, err := url.Parse(base + APIPath)
	if err != nil {
		return nil, err
	}
	c.GitHub = gh.NewClient(hc)
	c.GitHub.BaseURL, c.GitHub.UploadURL = api, api
	return c, nil
}

// asUser authenticates with the local GitHub's token and acts as a user.
type asUser struct {
	token, as string
	next      http.RoundTripper
}

func (a *asUser) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "token "+a.token)
	if a.as != "" {
		req.Header.Set(actAsHeader, a.as)
	}
	return a.next.RoundTrip(req)
}

// call sends a local call (under /api/prowl/) with body as JSON, decoding the answer into out.
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	req, err := c.newRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := gh.CheckResponse(resp); err != nil {
		return err
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return err
		}
	}
	return webhookError(resp.Header)
}

// WebhookError says a change was made but the webhook it causes did not reach Hook.
type WebhookError struct{ Msg string }

func (e *WebhookError) Error() string {
	return "the change was made, but Hook did not get its event: " + e.Msg
}

// CheckWebhook turns a response's X-Prowl-Webhook-Error into a WebhookError.
func CheckWebhook(resp *gh.Response) error {
	if resp == nil {
		return nil
	}
	return webhookError(resp.Header)
}

// webhookError is the WebhookError an answer's X-Prowl-Webhook-Error header reports, if any.
func webhookError(h http.Header) error {
	if w := h.Get(webhookHeader); w != "" {
		return &WebhookError{Msg: w}
	}
	return nil
}

// Pushed tells the server that a push moved refs of org/repo (the post-receive hook's call).
func (c *Client) Pushed(ctx context.Context, orgRepo, pusher string, updates []RefUpdate) error {
	return c.call(ctx, http.MethodPost, "repos/"+orgRepo+"/pushed", map[string]any{"pusher": pusher, "updates": updates}, nil)
}

// SyncPull moves pull request n of org/repo to its branch's tip.
func (c *Client) SyncPull(ctx context.Context, orgRepo string, n int) (*gh.PullRequest, error) {
	var pr gh.PullRequest
	err := c.call(ctx, http.MethodPost, fmt.Sprintf("repos/%s/pulls/%d/sync", orgRepo, n), struct{}{}, &pr)
	return &pr, err
}

// AllPulls lists every repository's pull requests.
func (c *Client) AllPulls(ctx context.Context) ([]*gh.PullRequest, error) {
	var out []*gh.PullRequest
	err := c.call(ctx, http.MethodGet, "pulls", nil, &out)
	return out, err
}

// newRequest makes a local call's request.
func (c *Client) newRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+localPath+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}
